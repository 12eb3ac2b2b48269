"""ASGI app of the everything server; ``python -m everything.server`` serves it.

Binds ``$HOST`` (default 127.0.0.1; the container sets 0.0.0.0) on ``$PORT`` (default 8000).
``openenv serve everything.server:app`` serves the same app.
"""

from __future__ import annotations

import os

from openenv.server import run

from .app import build_app

app = build_app()


def main() -> None:
    run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
