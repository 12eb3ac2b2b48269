"""ASGI app of the gridworld_env; ``python -m gridworld_env.server`` serves it.

Binds ``$HOST`` (default 127.0.0.1; the container sets 0.0.0.0) on ``$PORT`` (default 8000).
"""

from __future__ import annotations

import os
from pathlib import Path

from openenv.server import create_app, run

from .environment import GridWorldEnvironment

MANIFEST = Path(__file__).with_name("openenv.yaml")
app = create_app(GridWorldEnvironment, manifest=MANIFEST)


def main() -> None:
    run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
