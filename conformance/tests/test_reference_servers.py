"""Certification of our own reference servers: every profile; every MUST and every SHOULD passes
(no FAIL, ERROR or NON-STRICT) and both levels' frozen requirement sets ran completely.

Each server is started from its `openenv.yaml` (`app`) with `openenv serve` in a child process, as
`tools/certify.py` (the README's main job) does. The Node.js server is certified in
`reference-servers/node/tests/test_node_server.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openenv.manifest import load_manifest
from openenv.providers import LocalProcessProvider
from openenv_conformance import Outcome, run_suite

SERVERS = Path(__file__).resolve().parents[2] / "reference-servers"


@pytest.mark.parametrize("name", ["everything", "echo_env", "gridworld_env", "python_exec_env"])
def test_reference_server_passes_every_must(name: str) -> None:
    manifest = load_manifest(SERVERS / name / "openenv.yaml")
    server = LocalProcessProvider(str(manifest.app), cwd=str(SERVERS)).start()
    try:
        report = run_suite(server.base_url, profiles="all")
    finally:
        server.stop()
    blocking = [f"{c.id}: {c.message}" for c in report.cases if c.outcome in (Outcome.FAIL, Outcome.ERROR)]
    assert blocking == [], blocking
    non_strict = [f"{c.id}: {c.message}" for c in report.cases if c.outcome is Outcome.NON_STRICT]
    assert non_strict == []  # every SHOULD met: no reference server needs a NON-STRICT
    assert report.verdicts() == {"base": "PASS", "v1": "PASS"}
    assert report.passed
    v1 = {c.id: c.outcome for c in report.cases if c.profile == "v1"}
    assert v1["v1.negotiate"] is Outcome.PASS  # the v1 extensions were negotiated and checked
    assert sum(outcome is Outcome.PASS for outcome in v1.values()) >= 10
