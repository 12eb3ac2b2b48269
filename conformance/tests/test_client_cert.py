"""Client certification (`openenv-conformance serve-client`): our async and sync clients pass every
scenario, 0.10's client fails exactly the listed ones (for the listed reasons), the Node client
passes every scenario but the rollout-runner ones (it has no runner), and every scenario catches a
deliberately broken client (tests/broken_client.py), which passes everything when it has no fault.

Every run is real: scripted WebSocket servers on loopback and the client in a child process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openenv_conformance import Outcome
from openenv_conformance.clientcert.runner import arun_client_suite
from openenv_conformance.clientcert.scenarios import SCENARIOS
from openenv_conformance.expected import load_expected_failures

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DRIVERS = REPO / "conformance" / "drivers"
LEGACY_PYTHON = REPO / ".venv-openenv010" / "bin" / "python"
EXPECTED_010 = REPO / "conformance" / "expected-failures" / "openenv-0.10-client.yaml"
NODE_DIR = REPO / "reference-servers" / "node"
BROKEN = [sys.executable, str(HERE / "broken_client.py")]

# fault → (scenario that must catch it, outcome it must produce)
CAUGHT: dict[str, tuple[str, Outcome]] = {
    "binary_frames": ("client.basic", Outcome.FAIL),
    "strict_members": ("client.basic", Outcome.FAIL),
    "swap_replies": ("client.pipelining", Outcome.FAIL),
    "keep_after_timeout": ("client.timeout.late_reply", Outcome.FAIL),
    "unknown_code_fatal": ("client.errors.codes", Outcome.FAIL),
    "reconnect_silently": ("client.reconnect.no_silent", Outcome.FAIL),
    "impatient": ("client.slow_fragmented", Outcome.FAIL),
    "retry_immediately": ("client.capacity.refused", Outcome.NON_STRICT),
    "drop_last_words": ("client.capacity.after_upgrade", Outcome.FAIL),
    "small_max_size": ("client.large_reply", Outcome.FAIL),
    "unknown_frame_fatal": ("client.unknown_frame", Outcome.FAIL),
    "no_hello_check": ("client.v1.no_hello", Outcome.FAIL),
    "v1_ids_always": ("client.v1.fallback", Outcome.FAIL),
    "reward_passthrough": ("client.legacy.rewards", Outcome.FAIL),
    "truncated_as_terminated": ("client.v1.terminated_truncated", Outcome.FAIL),
    "no_close_frame": ("client.close.clean", Outcome.NON_STRICT),
    "rollout_step_after_done": ("client.rollout.batch", Outcome.FAIL),
    "rollout_replay_lost": ("client.rollout.failures", Outcome.FAIL),
}
ROLLOUTS = {"client.rollout.batch", "client.rollout.failures"}
"""Scenarios for a library's rollout runner: UNIMPLEMENTED for a client library without one."""
ALSO_CAUGHT = {"reconnect_silently": ("client.close.codes", Outcome.FAIL)}


def _bad(report_cases: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {c.id: f"{c.outcome.value}: {c.message}" for c in report_cases if c.outcome is not Outcome.PASS}


def test_every_scenario_catches_a_broken_client() -> None:
    caught = {sid for sid, _ in CAUGHT.values()} | {sid for sid, _ in ALSO_CAUGHT.values()}
    assert caught == set(SCENARIOS)


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_our_clients_pass_every_scenario(flavour: str) -> None:
    report = await arun_client_suite([sys.executable, str(DRIVERS / "openenv_clients.py"), flavour], persistent=True)
    assert _bad(report.cases) == {}
    assert report.passed
    assert {c.id for c in report.cases} == set(SCENARIOS)


async def test_openenv_010_client_fails_only_the_listed_scenarios() -> None:
    if not LEGACY_PYTHON.exists():
        pytest.skip("the openenv 0.10.0 peer is not installed (make venv-openenv010)")
    # persistent: 0.10's package imports gradio (seconds); one driver process serves every plan
    report = await arun_client_suite([str(LEGACY_PYTHON), str(DRIVERS / "openenv010_client.py")],
                                     expected_failures=EXPECTED_010, persistent=True)  # fmt: skip
    listed = {e.id for e in load_expected_failures(EXPECTED_010, SCENARIOS)}
    failed = {c.id for c in report.cases if c.outcome is Outcome.FAIL}
    assert {c.id: c.message for c in report.cases if c.outcome is Outcome.ERROR} == {}
    assert failed == listed
    assert report.passed, report.to_json()["summary"]
    v1_only = {c.id for c in report.cases if c.outcome is Outcome.UNIMPLEMENTED}
    assert v1_only == {"client.large_reply", "client.unknown_frame", "client.v1.no_hello", "client.v1.fallback",
                       "client.v1.terminated_truncated"} | ROLLOUTS  # fmt: skip


def _node_driver() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are required for the Node client")
    if not (NODE_DIR / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300)
    entry = NODE_DIR / "dist" / "src" / "client" / "driver.js"
    sources = [*NODE_DIR.joinpath("src").rglob("*.ts"), NODE_DIR / "package-lock.json"]
    if not entry.exists() or entry.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        subprocess.run(["npm", "run", "build"], cwd=NODE_DIR, check=True, timeout=300)
    return entry


async def test_node_client_passes_every_scenario() -> None:
    report = await arun_client_suite(["node", str(_node_driver())])
    assert {cid: why for cid, why in _bad(report.cases).items() if cid not in ROLLOUTS} == {}
    assert {c.id: c.outcome for c in report.cases if c.id in ROLLOUTS} == dict.fromkeys(ROLLOUTS, Outcome.UNIMPLEMENTED)
    assert report.passed


async def test_clean_broken_client_passes_everything() -> None:
    report = await arun_client_suite(BROKEN)
    assert _bad(report.cases) == {}


@pytest.mark.parametrize("fault", sorted(CAUGHT))
async def test_fault_is_caught(fault: str) -> None:
    wanted = dict([CAUGHT[fault], *([ALSO_CAUGHT[fault]] if fault in ALSO_CAUGHT else [])])
    report = await arun_client_suite([*BROKEN, fault], only=list(wanted))
    got = {c.id: c.outcome for c in report.cases}
    assert got == wanted, report.to_json()["cases"]


async def test_expected_failure_for_another_reason_is_not_excused(tmp_path: Path) -> None:
    listed = tmp_path / "expected.yaml"
    listed.write_text(
        "failures:\n  - id: client.pipelining\n    match: ConcurrencyError\n    reason: a different defect\n",
        "utf-8",
    )
    report = await arun_client_suite([*BROKEN, "swap_replies"], only=["client.pipelining"], expected_failures=listed)
    case = report.cases[0]
    assert case.outcome is Outcome.FAIL and case.expected_failure is None
    assert "failed otherwise" in case.message
    assert not report.passed


async def test_a_command_that_cannot_start_is_error_not_fail() -> None:
    report = await arun_client_suite([str(REPO / "no-such-driver")], only=["client.basic"])
    assert report.cases[0].outcome is Outcome.ERROR
    assert "cannot start" in report.cases[0].message
