"""`python -m bot` is the same as the `baoxiu` command."""

from bot.cli.main import main

raise SystemExit(main())
