"""Fixtures for the interop tests: the real 0.10 servers (see ``interop/fixtures.py``)."""

from interop.fixtures import legacy_echo_server, legacy_typed_server

__all__ = ["legacy_echo_server", "legacy_typed_server"]
