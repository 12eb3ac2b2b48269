"""`python -m openenv_conformance` = the `openenv-conformance` command."""

import sys

from openenv_conformance.cli import main

sys.exit(main())
