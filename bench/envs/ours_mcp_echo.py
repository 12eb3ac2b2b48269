"""The MCP echo environment on our runtime, for the bench's ``mcp_echo`` scenario.

It is ``reference-servers/echo_env`` (tools ``echo_message`` / ``echo_with_length`` as methods,
served by the runtime), the counterpart of 0.10's FastMCP echo env in
``interop/legacy_envs/echo_app.py``; capacity 4096 sessions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openenv.server import create_app

_SERVERS = str(Path(__file__).resolve().parents[2] / "reference-servers")
if _SERVERS not in sys.path:
    sys.path.insert(0, _SERVERS)

from echo_env.environment import EchoEnvironment  # noqa: E402 — needs reference-servers/ on sys.path

app = create_app(EchoEnvironment, name="echo_env", max_sessions=4096)
