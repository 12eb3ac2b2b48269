"""Frozen requirement sets (tools/requirement_sets.py, openenv_conformance/frozen_sets.py): the
checked-in sets are fresh, change only through --promote/--drop, a check registered later runs but
does not count until promoted, and a run that skipped checks of its set is INCOMPLETE, not PASS."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fake_server import FakeServer
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.frozen_sets import SETS
from openenv_conformance.registry import CHECKS, check
from openenv_conformance.verdicts import Fail

from conftest import fast_options

REPO = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("requirement_sets", REPO / "tools" / "requirement_sets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["requirement_sets"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    target = tmp_path / "conformance/src/openenv_conformance"
    target.mkdir(parents=True)
    shutil.copy(REPO / "conformance/src/openenv_conformance/frozen_sets.py", target / "frozen_sets.py")
    return tmp_path


@pytest.fixture
def late_check() -> Iterator[str]:
    """A check registered after the sets were frozen, that always fails."""
    cid = "core.zz_added_later"

    @check(cid, title="added after the freeze", clauses=["OE-WS-001"])
    async def _added(ctx: object) -> str | None:
        raise Fail("this check always fails")

    yield cid
    del CHECKS[cid]


def test_committed_sets_are_fresh() -> None:
    assert _tool().main(["--check"]) == 0


def test_sets_cover_every_level_and_name_their_revision() -> None:
    assert {SETS[level]["name"] for level in SETS} == {"server-base/1", "server-v1/1", "client/1"}
    assert all(str(cid).startswith("v1.") for cid in SETS["v1"]["checks"])
    assert all(str(cid).startswith("client.") for cid in SETS["client"]["checks"])


def test_a_new_check_does_not_enter_the_set_by_itself(copy_root: Path, late_check: str) -> None:
    tool = _tool()
    assert tool.main(["--root", str(copy_root), "--check"]) == 0  # pending, not an error
    assert tool.main(["--root", str(copy_root)]) == 0  # a plain rewrite keeps the membership
    assert late_check not in tool.current(copy_root)["base"]
    assert tool.main(["--root", str(copy_root), "--promote", late_check]) == 0
    assert late_check in tool.current(copy_root)["base"]
    assert tool.main(["--root", str(copy_root), "--drop", late_check]) == 0
    assert late_check not in tool.current(copy_root)["base"]


def test_an_unregistered_id_in_a_set_fails_the_check(copy_root: Path) -> None:
    path = copy_root / "conformance/src/openenv_conformance/frozen_sets.py"
    path.write_text(
        path.read_text("utf-8").replace('"core.ws.upgrade",', '"core.ws.upgrade",\n            "core.gone",')
    )
    assert _tool().main(["--root", str(copy_root), "--check"]) == 1
    assert _tool().main(["--root", str(copy_root), "--promote", "core.nope"]) == 2


async def test_an_uncounted_failure_is_reported_but_does_not_block(late_check: str) -> None:
    with FakeServer() as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), only={late_check, "core.ws.upgrade"})
    case = next(c for c in report.cases if c.id == late_check)
    assert case.outcome is Outcome.FAIL and not case.counted and not case.blocking
    assert case.to_json()["counted"] is False
    assert case.rerun is not None and f"--check {late_check}" in case.rerun
    assert report.passed
    # two checks of a whole set ran: the base verdict says the run was incomplete, never PASS
    assert report.verdicts()["base"] == "INCOMPLETE"
    assert "core.reset.envelope" in report.requirement_sets["base"]["missing"]
