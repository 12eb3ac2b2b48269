"""ASGI app of the echo_env; ``python -m echo_env.server`` serves it.

Binds ``$HOST`` (default 127.0.0.1; the container sets 0.0.0.0) on ``$PORT`` (default 8000).
``openenv serve echo_env.server:app --host H --port P`` serves the same app.
"""

from __future__ import annotations

import os
from pathlib import Path

from openenv.server import create_app, run

from .environment import EchoEnvironment

# named_sessions: `openenv/session/create` + `/ws?session_id=`, which 0.10's MCPToolClient needs.
MANIFEST = Path(__file__).with_name("openenv.yaml")
app = create_app(EchoEnvironment, manifest=MANIFEST, named_sessions=True)


def main() -> None:
    run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
