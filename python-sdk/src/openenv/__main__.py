"""`python -m openenv` — the `openenv` CLI."""

from openenv.cli.__main__ import main

raise SystemExit(main())
