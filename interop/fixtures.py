"""pytest fixtures that run the real ``openenv==0.10.0`` servers of ``interop/legacy_envs/``.

Session-scoped: ``legacy_echo_server`` (MCP echo env, ``max_sessions=8``) and
``legacy_typed_server`` (typed line env, ``max_sessions=8``), each a started
:class:`interop.legacy_server.LegacyServer` with ``.base_url``/``.ws_url``/``.pid``, stopped at the
end of the session. Use them from any test directory with, in that directory's ``conftest.py``::

    from interop.fixtures import legacy_echo_server, legacy_typed_server  # noqa: F401

or list ``"interop.fixtures"`` in the root ``conftest.py``'s ``pytest_plugins``. (``interop`` is
importable when pytest runs as ``python -m pytest`` from the repository root.) A test that needs a
different capacity starts its own server with :func:`interop.legacy_server.start_legacy_server`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interop.legacy_server import LegacyServer, start_legacy_server

__all__ = ["legacy_echo_server", "legacy_typed_server"]


@pytest.fixture(scope="session")
def legacy_echo_server() -> Iterator[LegacyServer]:
    """A running 0.10 echo server (MCP tools ``echo_message``/``echo_with_length``)."""
    with start_legacy_server("echo", max_sessions=8) as server:
        yield server


@pytest.fixture(scope="session")
def legacy_typed_server() -> Iterator[LegacyServer]:
    """A running 0.10 typed line server (``MoveAction``/``LineObservation``/``LineState``)."""
    with start_legacy_server("typed", max_sessions=8) as server:
        yield server
