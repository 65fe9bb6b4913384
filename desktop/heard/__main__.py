from heard.cli import main

raise SystemExit(main())
