"""The RFCs stay honest: statuses from the process, unique numbers, a fresh index, and every Final
RFC backed by clauses, schemas, checks and a reference server that passes them (rfcs/README.md,
"What Final requires"). The rules are also run against deliberately broken RFCs so they can fail."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import rfc_index  # noqa: E402 (tools/ is not a package)
from results_matrix import IMPLEMENTATIONS, REPORTS  # noqa: E402
from rfc_index import Rfc, parse_rfc, parse_rfcs  # noqa: E402

FOUNDING = {f"{n:04d}" for n in range(9)}  # 0000 principles ... 0008 automatic validation
V1_EXTENSIONS = {
    "subprotocol-negotiation",
    "request-ids",
    "terminated-truncated",
    "episode-state-errors",
    "limits-and-close-codes",
    "capacity-before-upgrade",
    "named-sessions",
}
NOT_BUILT = {"0005", "0008"}  # features this repository does not have yet


def clause_index() -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in json.loads((ROOT / "spec" / "clause-index.json").read_text())}


def check_clauses() -> dict[str, tuple[str, ...]]:
    """Server checks and client-certification scenarios → the clauses each cites."""
    from openenv_conformance.clientcert.scenarios import SCENARIOS
    from openenv_conformance.registry import all_checks

    return {cid: spec.clauses for cid, spec in all_checks().items()} | {
        sid: sc.clauses for sid, sc in SCENARIOS.items()
    }


def excluded_clauses() -> set[str]:
    doc = yaml.safe_load((ROOT / "conformance" / "traceability.yaml").read_text())
    return set((doc or {}).get("excluded") or {})


def reference_reports() -> dict[str, dict[str, str]]:
    """Reference server key → {check id: outcome}, from the committed results matrix reports."""
    out = {}
    for impl in IMPLEMENTATIONS:
        if impl.kind == "openenv010":
            continue
        doc = json.loads((ROOT / REPORTS / f"{impl.key}.json").read_text())
        out[impl.key] = {c["id"]: c["outcome"] for c in doc["cases"]}
    return out


def final_problems(
    rfc: Rfc,
    clauses: dict[str, dict[str, object]],
    checks: dict[str, tuple[str, ...]],
    excluded: set[str],
    reports: dict[str, dict[str, str]],
    root: Path = ROOT,
) -> list[str]:
    """Why a Final RFC does not meet "What Final requires" (empty when it does)."""
    where = rfc.path.name
    problems: list[str] = []
    if not rfc.clauses:
        problems.append(f"{where}: Final without clauses")
    if not rfc.checks:
        problems.append(f"{where}: Final without conformance checks")
    listed = {cid for cid, _ in rfc.clauses}
    for cid, target in rfc.clauses:
        entry = clauses.get(cid)
        if entry is None:
            problems.append(f"{where}: clause {cid} does not exist")
        elif target != f"../spec/{entry['page']}#{entry['anchor']}":
            problems.append(f"{where}: clause {cid} links {target}, not ../spec/{entry['page']}#{entry['anchor']}")
    for name, target in rfc.schemas:
        if not (root / "schemas" / f"{name}.schema.json").is_file():
            problems.append(f"{where}: schema {name} does not exist")
        if target != f"../docs/reference.md#{name.lower()}":
            problems.append(f"{where}: schema {name} links {target}, not its wire-reference section")
    cited: set[str] = set()
    for check_id in rfc.checks:
        if check_id not in checks:
            problems.append(f"{where}: check {check_id} does not exist")
            continue
        cited |= set(checks[check_id])
        if not set(checks[check_id]) & listed:
            problems.append(f"{where}: check {check_id} cites none of the RFC's clauses")
    sides = ("server", "both", "client") if any(c.startswith("client.") for c in rfc.checks) else ("server", "both")
    for cid in sorted(listed):
        entry = clauses.get(cid)
        if (
            entry
            and entry["testable"]
            and entry["level"] in ("MUST", "SHOULD")
            and entry["side"] in sides
            and cid not in cited
            and cid not in excluded
        ):
            problems.append(f"{where}: testable {entry['level']} clause {cid} is cited by none of its checks")
    for path in rfc.implementation:
        if not (root / path).exists():
            problems.append(f"{where}: implementation path {path} does not exist")
    server_checks = [c for c in rfc.checks if not c.startswith("client.")]  # client scenarios: test_client_cert.py
    passing = [key for key, outcomes in reports.items() if all(outcomes.get(c) == "PASS" for c in server_checks)]
    if server_checks and not passing:
        problems.append(f"{where}: no reference server passes all of {', '.join(server_checks)} in the results matrix")
    return problems


def test_rfcs_parse_without_problems() -> None:
    rfcs, problems = parse_rfcs(ROOT / "rfcs")
    assert problems == []
    numbers = {r.number for r in rfcs}
    assert len(numbers) == len(rfcs)
    assert numbers >= FOUNDING
    assert {r.slug for r in rfcs} >= V1_EXTENSIONS
    assert all(r.status in rfc_index.STATUSES for r in rfcs)


REQUIRED_SECTIONS = ("## Summary", "## Motivation", "## Design", "## Wire impact", "## Alternatives")


def test_every_rfc_has_the_template_sections() -> None:
    rfcs, _ = parse_rfcs(ROOT / "rfcs")
    missing = {
        r.path.name: [s for s in REQUIRED_SECTIONS if f"\n{s}" not in r.path.read_text(encoding="utf-8")] for r in rfcs
    }
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}


def test_index_is_fresh() -> None:
    assert rfc_index.main(["--check"]) == 0


def test_features_not_built_are_not_final() -> None:
    rfcs, _ = parse_rfcs(ROOT / "rfcs")
    statuses = {r.number: r.status for r in rfcs}
    assert {statuses[n] for n in NOT_BUILT} <= {"Draft", "Accepted"}


def test_every_final_rfc_meets_the_final_requirements() -> None:
    rfcs, _ = parse_rfcs(ROOT / "rfcs")
    clauses, checks, excluded, reports = clause_index(), check_clauses(), excluded_clauses(), reference_reports()
    finals = [r for r in rfcs if r.status == "Final"]
    assert finals
    problems = [p for r in finals for p in final_problems(r, clauses, checks, excluded, reports)]
    assert problems == []


def _write(tmp_path: Path, header: str) -> Rfc:
    path = tmp_path / "0099-broken.md"
    path.write_text(f"# RFC 0099: Broken\n\n{header}\n\n## Summary\n\nx\n", encoding="utf-8")
    rfc, problems = parse_rfc(path)
    assert rfc is not None, problems
    return rfc


def test_a_final_rfc_with_unknown_links_is_caught(tmp_path: Path) -> None:
    rfc = _write(
        tmp_path,
        "Status: Final\nCreated: 2026-12-04\nLevel: v1\n"
        "Clauses: [OE-V1-999](../spec/versioning.md#oe-v1-999), [OE-V1-021](../spec/websocket.md#oe-v1-021)\n"
        "Schemas: [NoSuchThing](../docs/reference.md#nosuchthing)\n"
        "Checks: `v1.no_such_check`, `core.ws.ping`\n"
        "Implementation: `reference-servers/no-such-server`",
    )
    problems = "\n".join(final_problems(rfc, clause_index(), check_clauses(), excluded_clauses(), reference_reports()))
    assert "clause OE-V1-999 does not exist" in problems
    assert "clause OE-V1-021 links ../spec/websocket.md" in problems
    assert "schema NoSuchThing does not exist" in problems
    assert "check v1.no_such_check does not exist" in problems
    assert "check core.ws.ping cites none of the RFC's clauses" in problems
    assert "testable MUST clause OE-V1-021 is cited by none of its checks" in problems
    assert "implementation path reference-servers/no-such-server does not exist" in problems


def test_a_final_rfc_no_server_passes_is_caught(tmp_path: Path) -> None:
    rfc = _write(
        tmp_path,
        "Status: Final\nCreated: 2026-12-04\nLevel: v1\n"
        "Clauses: [OE-V1-021](../spec/versioning.md#oe-v1-021)\nChecks: `v1.id.echo`",
    )
    reports = {key: {**outcomes, "v1.id.echo": "FAIL"} for key, outcomes in reference_reports().items()}
    problems = final_problems(rfc, clause_index(), check_clauses(), excluded_clauses(), reports)
    assert any("no reference server passes" in p for p in problems)
    assert final_problems(rfc, clause_index(), check_clauses(), excluded_clauses(), reference_reports()) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Status: Done\nCreated: 2026-12-04\nLevel: v1", "Status 'Done' is not one of"),
        ("Status: Draft\nLevel: v1", "header key 'Created' missing"),
        ("Status: Draft\nCreated: 4 Dec\nLevel: v1", "is not YYYY-MM-DD"),
        ("Status: Draft\nCreated: 2026-12-04\nLevel: v1\nColour: blue", "unknown header key 'Colour'"),
        ("Status: Draft\nCreated: 2026-12-04\nLevel: v1\nClauses: OE-V1-021", "is not a Markdown link"),
    ],
)
def test_bad_headers_are_reported(tmp_path: Path, header: str, expected: str) -> None:
    path = tmp_path / "0098-bad.md"
    path.write_text(f"# RFC 0098: Bad\n\n{header}\n", encoding="utf-8")
    _, problems = parse_rfc(path)
    assert any(expected in p for p in problems), problems


def test_duplicate_numbers_and_bad_names_are_reported(tmp_path: Path) -> None:
    for name in ("0001-a.md", "0001-b.md"):
        (tmp_path / name).write_text("# RFC 0001: A\n\nStatus: Draft\nCreated: 2026-12-04\nLevel: v1\n")
    (tmp_path / "rfc-7.md").write_text("# RFC 7\n")
    _, problems = parse_rfcs(tmp_path)
    assert any("number 0001 also used by" in p for p in problems)
    assert any("rfc-7.md:1: file name must be NNNN-slug.md" in p for p in problems)


def test_stale_index_is_reported(tmp_path: Path) -> None:
    rfcs = tmp_path / "rfcs"
    rfcs.mkdir()
    (rfcs / "0001-a.md").write_text("# RFC 0001: A\n\nStatus: Draft\nCreated: 2026-12-04\nLevel: v1\n")
    (rfcs / "README.md").write_text(f"# RFCs\n\n{rfc_index.BEGIN}\nold\n{rfc_index.END}\n")
    assert rfc_index.main(["--check", "--rfcs", str(rfcs)]) == 1
    assert rfc_index.main(["--rfcs", str(rfcs)]) == 0
    assert "[A](0001-a.md) | Draft" in (rfcs / "README.md").read_text()
    assert rfc_index.main(["--check", "--rfcs", str(rfcs)]) == 0
