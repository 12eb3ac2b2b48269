"""Traceability (OE-CONF-002, OE-CONF-006): every check cites at least one clause and every cited
clause exists in spec/clause-index.json; every testable MUST/SHOULD clause is cited by a check or
excluded with a reason in conformance/traceability.yaml; exclusions are not stale."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from openenv_conformance.clientcert.scenarios import SCENARIOS
from openenv_conformance.paths import clause_index_path
from openenv_conformance.registry import PROFILES, all_checks

TRACEABILITY = Path(__file__).resolve().parents[1] / "traceability.yaml"


def _index() -> dict[str, dict[str, object]]:
    path = clause_index_path()
    assert path is not None, "spec/clause-index.json is missing"
    return {c["id"]: c for c in json.loads(path.read_text("utf-8"))}


def _excluded() -> dict[str, str]:
    raw = yaml.safe_load(TRACEABILITY.read_text("utf-8"))
    return dict(raw["excluded"])


def test_every_check_cites_existing_clauses() -> None:
    index = _index()
    for spec in all_checks().values():
        assert spec.clauses, f"{spec.id} cites no clause"
        missing = [c for c in spec.clauses if c not in index]
        assert not missing, f"{spec.id} cites unknown clauses {missing}"
        assert spec.profile in PROFILES and spec.id.startswith(spec.profile + ".")


def _cited() -> set[str]:
    """Clauses cited by a server check or a client scenario."""
    return {c for spec in all_checks().values() for c in spec.clauses} | {
        c for sc in SCENARIOS.values() for c in sc.clauses
    }


def test_every_testable_must_and_should_is_covered() -> None:
    index = _index()
    cited = _cited()
    excluded = _excluded()
    uncovered = sorted(
        cid
        for cid, c in index.items()
        if c.get("testable") is not False
        and c.get("level") in ("MUST", "SHOULD")
        and cid not in cited
        and cid not in excluded
    )
    assert uncovered == [], "clauses with no check and no exclusion"


def test_exclusions_are_real_and_not_stale() -> None:
    index = _index()
    cited = _cited()
    for cid, reason in _excluded().items():
        assert cid in index, f"excluded clause {cid} does not exist"
        assert isinstance(reason, str) and reason.strip(), f"{cid} has no reason"
        assert cid not in cited, f"{cid} is excluded but a check cites it"


def test_levels_and_sides_match_profiles() -> None:
    """Only the v1 profile cites v1-mode clauses (OE-CONF-004); only server clauses are cited."""
    index = _index()
    for spec in all_checks().values():
        for cid in spec.clauses:
            clause = index[cid]
            assert clause["side"] in ("server", "both"), f"{spec.id} cites {cid} ({clause['side']})"
            if clause["mode"] == "v1":
                assert spec.profile == "v1", f"{spec.id} cites the v1-only clause {cid}"


def test_client_scenarios_cite_testable_client_clauses() -> None:
    """Client scenarios cite only client/both clauses that exist and are not marked untestable."""
    index = _index()
    for sc in SCENARIOS.values():
        assert sc.clauses, f"{sc.id} cites no clause"
        assert sc.id.startswith("client.")
        for cid in sc.clauses:
            assert cid in index, f"{sc.id} cites unknown clause {cid}"
            assert index[cid]["side"] in ("client", "both"), f"{sc.id} cites {cid} ({index[cid]['side']})"
            assert index[cid].get("testable") is not False, f"{sc.id} cites {cid}, which is marked untestable"
