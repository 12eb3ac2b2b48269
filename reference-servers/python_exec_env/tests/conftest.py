"""Make ``python_exec_env`` (and this directory's ``pyexec_probes``) importable."""

import sys
from pathlib import Path

_SERVERS = str(Path(__file__).resolve().parents[2])
_HERE = str(Path(__file__).resolve().parent)  # for the probe helpers (pyexec_probes)
for _path in (_SERVERS, _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)
