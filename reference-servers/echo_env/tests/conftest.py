"""Make ``echo_env`` importable from the ``reference-servers`` directory."""

import sys
from pathlib import Path

_SERVERS = str(Path(__file__).resolve().parents[2])
if _SERVERS not in sys.path:
    sys.path.insert(0, _SERVERS)
