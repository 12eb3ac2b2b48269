"""The site's generators: wire reference, benchmark chart and results matrix are fresh, derived from
their sources (not typed in), and their ``--check`` fails when a source changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import bench_chart  # noqa: E402 (tools/ is not a package)
import results_matrix  # noqa: E402
import wire_reference  # noqa: E402
from _common import build_registry, load_schemas  # noqa: E402


def copy_tree(dest: Path, *names: str) -> Path:
    for name in names:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / name)
    return dest


# ------------------------------------------------------------------------------ wire reference


def test_wire_reference_has_every_schema_with_its_clauses() -> None:
    page = wire_reference.render(ROOT)
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        assert f"### {name} {{ #{name.lower()} }}" in page
    step = page.split("### WsStepRequest", 1)[1].split("\n### ", 1)[0]
    assert "frame `step`" in step and "| `data` | [Action](#action) | yes |" in step
    assert "[OE-WS-014](../spec/websocket.md#oe-ws-014)" in step  # names `step` in the /ws spec
    assert "Example `schemas/examples/WsStepRequest/" in step
    reset = page.split("### HttpResetRequest", 1)[1].split("\n### ", 1)[0]
    assert "HTTP `POST /reset` — request body" in reset
    assert "[OE-HTTP-013](../spec/http.md#oe-http-013)" in reset
    manifest = page.split("### Manifest", 1)[1].split("\n### ", 1)[0]
    assert "[OE-MAN-001](../spec/manifest.md#oe-man-001)" in manifest  # its page names the file


def test_wire_reference_check_bites(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "schemas", "spec", "asyncapi.yaml", "openapi.yaml")
    (root / "docs").mkdir()
    assert wire_reference.main(["--root", str(root)]) == 0
    assert wire_reference.main(["--check", "--root", str(root)]) == 0
    schema = root / "schemas" / "WsStepRequest.schema.json"
    doc = json.loads(schema.read_text())
    doc["description"] = "Changed."
    schema.write_text(json.dumps(doc))
    assert wire_reference.main(["--check", "--root", str(root)]) == 1


# ------------------------------------------------------------------------------ benchmark chart


def test_bench_figures_come_from_the_latest_result() -> None:
    files = bench_chart.render(ROOT)
    runs = sorted(p for p in (ROOT / "bench" / "results").glob("*.json") if bench_chart.RUN_NAME_RE.match(p.name))
    latest = json.loads(runs[-1].read_text())
    ops = latest["results"]["ours"]["conc_64"]["ops_s"]
    svg = files[bench_chart.THROUGHPUT_SVG]
    assert svg.startswith("<svg") and "<script" not in svg
    assert f">{ops:,.0f}</text>" in svg
    assert f"| 64 | {latest['results']['legacy']['conc_64']['ops_s']:,.0f} | {ops:,.0f} |" in files[bench_chart.PAGE]


def test_bench_chart_check_bites_and_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_tree(tmp_path, "bench/results", "docs/benchmark.md", "docs/assets")
    assert bench_chart.main(["--check", "--root", str(root)]) == 0
    (root / "bench" / "results" / "other-benchmark.json").write_text('{"unrelated": true}')
    assert bench_chart.main(["--check", "--root", str(root)]) == 0  # not a side-by-side run: ignored
    newest = sorted((root / "bench" / "results").glob("2*.json"))[-1]
    doc = json.loads(newest.read_text())
    doc["results"]["ours"]["conc_64"]["ops_s"] += 1000
    newest.write_text(json.dumps(doc))
    assert bench_chart.main(["--check", "--root", str(root)]) == 1
    newest.write_text("{not json")
    capsys.readouterr()
    assert bench_chart.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"bench_chart: {newest.name}: not valid JSON") and "\n" not in err


# ------------------------------------------------------------------------------ results matrix


def test_committed_reports_are_valid_conformance_reports() -> None:
    files, errors = load_schemas(ROOT / "schemas")
    assert errors == []
    registry = build_registry(files)
    schema = next(f.contents for f in files if f.name == "ConformanceReport")
    validator = Draft202012Validator(schema, registry=registry)
    reports = results_matrix.load_reports(ROOT)
    assert len(reports) >= 6
    for key, doc in reports.items():
        problems = [f"{key}: {e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
        assert problems == []


def test_matrix_has_every_implementation_and_every_case() -> None:
    files = results_matrix.render(ROOT)
    index = files[results_matrix.OUT_DIR / "index.md"]
    reports = results_matrix.load_reports(ROOT)
    kinds = {i.kind for i in results_matrix.IMPLEMENTATIONS}
    assert kinds == {"python", "node", "openenv010"} and len(results_matrix.IMPLEMENTATIONS) >= 6
    for impl in results_matrix.IMPLEMENTATIONS:
        doc = reports[impl.key]
        assert f"badges/{impl.key}.svg" in index
        for case in doc["cases"]:
            assert f"]({impl.key}.md#{results_matrix.anchor(case['id'])})" in index
            assert f"{{ #{results_matrix.anchor(case['id'])} }}" in files[results_matrix.OUT_DIR / f"{impl.key}.md"]
        assert doc["harness"]["version"] in index
    assert "## Per profile" in index and "| core |" in index


def test_matrix_check_bites_when_a_report_changes(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "docs/results", "spec/clause-index.json")
    assert results_matrix.main(["--check", "--root", str(root)]) == 0
    path = root / results_matrix.REPORTS / "everything.json"
    doc = json.loads(path.read_text())
    doc["cases"][0]["outcome"] = "FAIL"
    path.write_text(json.dumps(doc))
    assert results_matrix.main(["--check", "--root", str(root)]) == 1
    path.unlink()
    assert results_matrix.main(["--check", "--root", str(root)]) == 1


def test_trim_bounds_transcripts_and_says_so() -> None:
    events = [{"t_ms": float(i), "conn": "ws1", "kind": "send", "data": "x" * 1000} for i in range(100)]
    doc = {"cases": [{"id": "core.ws.ping", "transcript": events}], "notes": []}
    trimmed = results_matrix.trim(doc)
    kept = trimmed["cases"][0]["transcript"]
    assert len(kept) == results_matrix.MAX_EVENTS
    assert all(len(e["data"]) <= results_matrix.MAX_EVENT_CHARS + 1 and e["size"] == 1000 for e in kept)
    assert "60 events dropped" in trimmed["notes"][-1]


def test_reports_are_not_git_ignored() -> None:
    """The matrix is checked against committed reports, so they must be committable."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = [str(results_matrix.REPORTS / f"{i.key}.json") for i in results_matrix.IMPLEMENTATIONS]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ignored.stdout.strip() == ""
