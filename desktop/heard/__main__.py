from heard.launcher import main

raise SystemExit(main())
