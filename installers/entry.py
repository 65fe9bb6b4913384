"""The frozen executable's script (PyInstaller): the same `main` as the `heard` command."""

from heard.launcher import main

raise SystemExit(main())
