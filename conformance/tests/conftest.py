"""Shared fixtures for the harness self-tests: the fake server (tests/fake_server.py) and fast
run options. The directory is put on sys.path so the tests can import `fake_server`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_server import FakeServer
from openenv_conformance import RunOptions


def fast_options(**overrides: object) -> RunOptions:
    """Short timeouts and small counts so every run stays quick."""
    base = {"timeout_s": 2.0, "budget_s": 120.0, "sessions": 2, "perf_steps": 20,
            "fuzz_examples": 8, "schemathesis_examples": 5,
            "schemathesis_phases": "coverage",
            "schemathesis_paths": "^/(reset|step|state|{env_name}/splits)$"}  # fmt: skip
    base.update(overrides)
    return RunOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean_server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv
