"""Make ``everything`` (and the repo's ``interop`` helpers) importable; serve its app."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve()
for _path in (str(_HERE.parents[2]), str(_HERE.parents[3])):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from openenv.server.background import BackgroundServer  # noqa: E402


@pytest.fixture
def everything_server() -> Iterator[BackgroundServer]:
    """The everything app on a free 127.0.0.1 port (real uvicorn, in a background thread)."""
    from everything.server import app

    with BackgroundServer(app) as server:
        yield server
