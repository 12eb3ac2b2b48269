"""The public results matrix: certification reports of every implementation, as site pages.

Contract:

* :data:`IMPLEMENTATIONS` lists the columns: the four Python reference servers (certified through
  ``tools/certify.py``), the Node.js server's ``echo`` and ``gridworld`` environments, and the real
  ``openenv==0.10.0`` server (``interop/legacy_envs/``: echo and typed) run with
  ``conformance/expected-failures/openenv-0.10.yaml``. The Node gridworld column runs with small
  limits (4 sessions, 5 s idle timeout) so that the capacity and idle-timeout checks run. Their reports are kept in
  ``docs/results/json/<key>.json`` (format ``openenv-conformance-report/1``), each transcript
  cut to :data:`MAX_EVENTS` events of :data:`MAX_EVENT_CHARS` characters (a note in the report
  says so) to keep the repository small.
* ``--run`` certifies every implementation afresh (or those named with ``--only``) on loopback,
  stores the reports, then renders. This takes minutes and is what ``make docs`` does; the test
  suite only checks that the committed pages match the committed reports.
* Rendering (the default, and ``--check``) reads the stored reports and writes
  ``docs/results/index.md`` (when and with which harness version; a badge, verdicts and totals per
  implementation; per-profile totals; one row per check, one coloured cell per implementation
  linking to its case transcript), ``docs/results/<key>.md`` (every case with its clauses,
  message and transcript)
  and ``docs/results/badges/<key>.svg``. ``--check`` renders in memory and returns 1 when a file
  differs, a report is missing or unreadable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from openenv_conformance.registry import PROFILES as REGISTERED_PROFILES

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path("docs") / "results"
REPORTS = OUT_DIR / "json"
BADGES = OUT_DIR / "badges"
FORMAT = "openenv-conformance-report/1"
OUTCOMES: tuple[str, ...] = ("PASS", "FAIL", "NON-STRICT", "UNIMPLEMENTED", "INFORMATIONAL", "ERROR")
PROFILES: tuple[str, ...] = REGISTERED_PROFILES
SHORT = {"PASS": "pass", "FAIL": "fail", "NON-STRICT": "non-strict", "UNIMPLEMENTED": "unimpl.",
         "INFORMATIONAL": "info", "ERROR": "error"}  # fmt: skip
MAX_EVENTS = 40
MAX_EVENT_CHARS = 300
MAX_REPORT_BYTES = 20 * 1024 * 1024
RUN_TIMEOUT_S = 900
STARTUP_TIMEOUT_S = 60.0
EXPECTED_010 = Path("conformance") / "expected-failures" / "openenv-0.10.yaml"


@dataclass(frozen=True)
class Implementation:
    """One column: a key (file names), a label, the language and how it is started."""

    key: str
    label: str
    kind: str  # "python" | "node" | "openenv010"
    target: str  # reference-server name, Node ENV value or 0.10 app name
    settings: tuple[tuple[str, str], ...] = ()  # environment variables of the server (Node only)

    @property
    def short(self) -> str:
        """Column heading of the wide tables: the name over the language."""
        name, _, rest = self.label.partition(" (")
        return f"{name}<br><small>{rest.split(',')[0].rstrip(')')}</small>"


IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation("everything", "everything (Python)", "python", "everything"),
    Implementation("echo_env", "echo_env (Python)", "python", "echo_env"),
    Implementation("gridworld_env", "gridworld_env (Python)", "python", "gridworld_env"),
    Implementation("python_exec_env", "python_exec_env (Python)", "python", "python_exec_env"),
    Implementation("node-echo", "echo (Node.js)", "node", "echo"),
    Implementation(
        "node-gridworld",
        "gridworld (Node.js, 4 sessions, idle 5 s)",
        "node",
        "gridworld",
        (("OPENENV_MAX_SESSIONS", "4"), ("OPENENV_IDLE_TIMEOUT_S", "5")),
    ),
    Implementation("openenv010-echo", "echo (openenv 0.10.0)", "openenv010", "echo"),
    Implementation("openenv010-typed", "typed (openenv 0.10.0)", "openenv010", "typed"),
)


class MatrixError(Exception):
    """A report is missing or unusable, or a run could not produce one."""


# ---------------------------------------------------------------------------------------- runs


def _conformance(url: str, out: Path, extra: Sequence[str] = ()) -> None:
    cmd = [sys.executable, "-m", "openenv_conformance", "run", url, "--json", str(out), "--quiet", *extra]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    if proc.returncode not in (0, 1) or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MatrixError(f"conformance run against {url} failed (rc={proc.returncode}): {tail[0]}")


@contextmanager
def _node_server(env_name: str, settings: Sequence[tuple[str, str]] = ()) -> Iterator[str]:
    node_dir = REPO_ROOT / "reference-servers" / "node"
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise MatrixError("node and npm are needed for the Node.js columns")
    if not (node_dir / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=node_dir, check=True, timeout=600)
    entry = node_dir / "dist" / "src" / "main.js"
    sources = [*node_dir.joinpath("src").rglob("*.ts"), node_dir / "tsconfig.json"]
    if not entry.exists() or entry.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        subprocess.run(["npm", "run", "build"], cwd=node_dir, check=True, timeout=600, capture_output=True)
    env = {**os.environ, "ENV": env_name, "HOST": "127.0.0.1", "PORT": "0", **dict(settings)}
    proc = subprocess.Popen(["node", str(entry)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        assert proc.stdout is not None
        url = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("listening on "):
                url = line.split()[2]
                break
            if not line and proc.poll() is not None:
                break
        if not url:
            raise MatrixError(f"the Node.js server ({env_name}) did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def run_one(impl: Implementation, work: Path) -> Path:
    """Certify one implementation on loopback; the path of its fresh JSON report."""
    out = work / f"{impl.key}.json"
    if impl.kind == "python":
        cmd = [sys.executable, "tools/certify.py", "--server", impl.target, "--report-dir", str(work)]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
        produced = work / impl.target / "report.json"
        if proc.returncode not in (0, 1) or not produced.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MatrixError(f"certify.py --server {impl.target} failed (rc={proc.returncode}): {tail[0]}")
        shutil.copy(produced, out)
    elif impl.kind == "node":
        with _node_server(impl.target, impl.settings) as url:
            _conformance(url, out)
    else:
        sys.path.insert(0, str(REPO_ROOT))
        from interop.legacy_server import start_legacy_server

        with start_legacy_server(impl.target, max_sessions=4) as srv:  # type: ignore[arg-type]
            _conformance(srv.base_url, out, ["--expected-failures", str(REPO_ROOT / EXPECTED_010)])
    return out


def trim(doc: dict[str, Any]) -> dict[str, Any]:
    """The report with every transcript cut to MAX_EVENTS events of MAX_EVENT_CHARS characters (the
    full reports are about 1 MB each); says so in ``notes``. Still a valid report."""
    cut = 0
    for case in doc.get("cases", []):
        events = case.get("transcript") or []
        cut += max(0, len(events) - MAX_EVENTS)
        kept = []
        for event in events[:MAX_EVENTS]:
            data = str(event.get("data", ""))
            if len(data) > MAX_EVENT_CHARS:
                event = {**event, "data": data[:MAX_EVENT_CHARS] + "…", "size": event.get("size", len(data))}
            kept.append(event)
        case["transcript"] = kept
    doc.setdefault("notes", []).append(
        f"transcripts cut by tools/results_matrix.py to {MAX_EVENTS} events of {MAX_EVENT_CHARS} characters"
        f" ({cut} events dropped)"
    )
    return doc


def run_all(root: Path, only: Sequence[str]) -> None:
    chosen = [i for i in IMPLEMENTATIONS if not only or i.key in only]
    (root / REPORTS).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="results-matrix-") as tmp:
        for impl in chosen:
            started = time.monotonic()
            print(f"results_matrix: certifying {impl.label} ...", flush=True)
            fresh = run_one(impl, Path(tmp))
            doc = trim(json.loads(fresh.read_text(encoding="utf-8")))
            text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
            (root / REPORTS / f"{impl.key}.json").write_text(text, encoding="utf-8")
            print(f"results_matrix: {impl.label}: {time.monotonic() - started:.0f} s", flush=True)


# ------------------------------------------------------------------------------------ rendering


def load_reports(root: Path) -> dict[str, dict[str, Any]]:
    reports: dict[str, dict[str, Any]] = {}
    for impl in IMPLEMENTATIONS:
        path = root / REPORTS / f"{impl.key}.json"
        if not path.is_file():
            raise MatrixError(
                f"{REPORTS}/{impl.key}.json missing: run `.venv/bin/python tools/results_matrix.py --run`"
            )
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise MatrixError(f"{path.name}: over {MAX_REPORT_BYTES} bytes")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MatrixError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("cases"), list):
            raise MatrixError(f"{path.name}: not a conformance report (format {FORMAT})")
        reports[impl.key] = doc
    return reports


def anchor(check_id: str) -> str:
    return check_id.replace(".", "-").replace("_", "-")


def badge(label: str, verdict: str) -> str:
    """A flat two-part SVG badge: ``openenv | <verdict>``."""
    colour = {"PASS": "#2e7d32", "FAIL": "#c62828", "UNIMPLEMENTED": "#757575"}.get(verdict, "#ef6c00")
    right = verdict.lower()
    lw, rw = 62, 8 + 7 * len(right)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img"'
        f' aria-label="{escape(label)}: {right}" font-family="sans-serif" font-size="11">'
        f"<title>{escape(label)}: {right}</title>"
        f'<rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" fill="{colour}"/>'
        f'<text x="{lw / 2}" y="14" fill="#fff" text-anchor="middle">openenv</text>'
        f'<text x="{lw + rw / 2}" y="14" fill="#fff" text-anchor="middle">{right}</text></svg>\n'
    )


def overall(doc: dict[str, Any]) -> str:
    """PASS when the run passed and no MUST case failed — a failure the run expected (an
    expected-failures entry) still makes the badge FAIL: the matrix shows what the server does."""
    failed = any(c.get("outcome") in ("FAIL", "ERROR") and c.get("level") == "MUST" for c in doc.get("cases", []))
    return "PASS" if doc.get("passed") and not failed else "FAIL"


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def _clause_links(clauses: Sequence[str], pages: dict[str, str]) -> str:
    out = []
    for cid in clauses:
        page = pages.get(cid)
        out.append(f"[{cid}](../../spec/{page}#{cid.lower()})" if page else f"`{cid}`")
    return ", ".join(out)


def render_index(reports: dict[str, dict[str, Any]]) -> str:
    starts = sorted(str(d.get("started_at", "")) for d in reports.values())
    ends = sorted(str(d.get("finished_at", "")) for d in reports.values())
    harness = sorted({f"{d['harness']['name']} {d['harness']['version']}" for d in reports.values()})
    lines = [
        "---",
        "hide:",
        "  - navigation",
        "  - toc",
        "---",
        "",
        "# Results matrix",
        "",
        "Generated by `tools/results_matrix.py` from the JSON reports in `docs/results/json/`; do not",
        "edit. `make docs` certifies every implementation afresh on loopback and regenerates this page.",
        "",
        f"* Runs: {starts[0]} to {ends[-1]}.",
        f"* Harness: {', '.join(harness)}; every profile, default options (seed in each report).",
        "* The openenv 0.10.0 columns run with `conformance/expected-failures/openenv-0.10.yaml`: an",
        "  expected failure still shows as FAIL, but does not fail the run.",
        "",
        "## Implementations",
        "",
        "| implementation | badge | base | v1 | " + " | ".join(OUTCOMES) + " | report |",
        "|---|---|---|---|" + "---|" * len(OUTCOMES) + "---|",
    ]
    for impl in IMPLEMENTATIONS:
        doc = reports[impl.key]
        counts = doc["summary"]["counts"]
        verdicts = doc.get("verdicts", {})
        lines.append(
            f"| [{impl.label}]({impl.key}.md) | ![{impl.label}: {overall(doc).lower()}](badges/{impl.key}.svg)"
            f" | {verdicts.get('base', '—')} | {verdicts.get('v1', '—')} | "
            + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES)
            + f" | [JSON](json/{impl.key}.json) |"
        )
    lines += [
        "",
        "## Per profile",
        "",
        "Passed checks out of those run, per profile (a profile's other checks are failed, non-strict,",
        "unimplemented, informational or errors; see the matrix).",
        "",
        "| profile | " + " | ".join(i.short for i in IMPLEMENTATIONS) + " |",
        "|---|" + "---|" * len(IMPLEMENTATIONS),
    ]
    for profile in PROFILES:
        cells = []
        for impl in IMPLEMENTATIONS:
            block = reports[impl.key]["summary"]["by_profile"].get(profile)
            if block is None:
                cells.append("—")
                continue
            c = block["counts"]
            total = sum(c.values())
            extra = f", {c['FAIL']} fail" if c.get("FAIL") else ""
            cells.append(f"{c.get('PASS', 0)}/{total}{extra}")
        lines.append(f"| {profile} | " + " | ".join(cells) + " |")
    order: list[tuple[str, str, str]] = []  # (profile, id, title) in the first report's order
    seen: set[str] = set()
    for impl in IMPLEMENTATIONS:
        for case in reports[impl.key]["cases"]:
            if case["id"] not in seen:
                seen.add(case["id"])
                order.append((case["profile"], case["id"], case["title"]))
    by_impl = {k: {c["id"]: c for c in d["cases"]} for k, d in reports.items()}
    lines += [
        "",
        "## Every check",
        "",
        "Each cell links to the case's transcript. Legend: "
        + ", ".join(f"[{o}](#matrix){{ .oe-outcome .oe-{o.lower()} }}" for o in OUTCOMES)
        + "; — not run.",
        "",
        "| check | level | " + " | ".join(i.short for i in IMPLEMENTATIONS) + " |",
        "|---|---|" + "---|" * len(IMPLEMENTATIONS),
    ]
    for profile in PROFILES:
        for prof, cid, title in order:
            if prof != profile:
                continue
            levels = {by_impl[i.key][cid]["level"] for i in IMPLEMENTATIONS if cid in by_impl[i.key]}
            cells = []
            for impl in IMPLEMENTATIONS:
                case = by_impl[impl.key].get(cid)
                if case is None:
                    cells.append("—")
                    continue
                outcome = case["outcome"]
                cells.append(f"[{SHORT[outcome]}]({impl.key}.md#{anchor(cid)}){{ .oe-outcome .oe-{outcome.lower()} }}")
            lines.append(
                f"| `{cid}`<br><small>{escape(_cell(title))}</small> | {'/'.join(sorted(levels))} | "
                + " | ".join(cells)
                + " |"
            )
    lines.insert(lines.index("## Every check"), '<a id="matrix"></a>')
    lines.insert(lines.index("## Every check"), "")
    return "\n".join(lines) + "\n"


def _event_text(event: dict[str, Any]) -> str:
    data = str(event.get("data", ""))
    if len(data) > MAX_EVENT_CHARS:
        data = data[:MAX_EVENT_CHARS] + f"… ({len(data)} chars)"
    data = data.replace("\n", "\\n")
    return f"{float(event.get('t_ms', 0)):9.1f} ms {event.get('conn', '?'):>8} {event.get('kind', '?'):<5} {data}"


def render_impl(impl: Implementation, doc: dict[str, Any], pages: dict[str, str]) -> str:
    counts = doc["summary"]["counts"]
    lines = [
        f"# {impl.label}",
        "",
        f"![{impl.label}: {overall(doc).lower()}](badges/{impl.key}.svg)",
        "",
        f"Certified {doc['started_at']} by {doc['harness']['name']} {doc['harness']['version']} at"
        f" `{doc['target']}` (seed {doc['seed']}, {doc['duration_s']:.1f} s). Negotiated protocol:"
        f" `{doc.get('negotiated_protocol')}`. Verdicts: "
        + ", ".join(f"{level} {v}" for level, v in doc.get("verdicts", {}).items())
        + ". Outcomes: "
        + ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES)
        + f". [Back to the matrix](index.md); [JSON report](json/{impl.key}.json).",
        "",
    ]
    for note in doc.get("notes") or []:
        lines.append(f"* Note: {_cell(note)}")
    if doc.get("notes"):
        lines.append("")
    expected = set(doc["summary"].get("expected_failures") or [])
    for case in doc["cases"]:
        cid = case["id"]
        tag = " (expected failure)" if cid in expected else ""
        lines += [
            f"## {cid} {{ #{anchor(cid)} }}",
            "",
            f"**{case['outcome']}**{tag} · {case['level']} · {case['profile']} · {case['duration_s']:.3f} s —"
            f" {escape(_cell(case['title']))}",
            "",
            f"Clauses: {_clause_links(case['clauses'], pages)}.",
            "",
        ]
        if case.get("message"):
            lines += [f"Message: {escape(_cell(case['message']))}", ""]
        events = case.get("transcript") or []
        if events:
            shown = events[:MAX_EVENTS]
            more = (
                f" (first {MAX_EVENTS} of {len(events)} events; all in the JSON report)"
                if len(events) > MAX_EVENTS
                else ""
            )
            lines += [f"Transcript{more}:", "", "```text", *(_event_text(e) for e in shown), "```", ""]
        else:
            lines += ["No transcript.", ""]
    return "\n".join(lines).rstrip() + "\n"


def clause_pages(root: Path) -> dict[str, str]:
    index = json.loads((root / "spec" / "clause-index.json").read_text(encoding="utf-8"))
    return {c["id"]: c["page"] for c in index}


def render(root: Path) -> dict[Path, str]:
    reports = load_reports(root)
    pages = clause_pages(root)
    files: dict[Path, str] = {OUT_DIR / "index.md": render_index(reports)}
    for impl in IMPLEMENTATIONS:
        files[OUT_DIR / f"{impl.key}.md"] = render_impl(impl, reports[impl.key], pages)
        files[BADGES / f"{impl.key}.svg"] = badge(impl.label, overall(reports[impl.key]))
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Certify every implementation and render the results matrix.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail when a page is stale; run and write nothing")
    mode.add_argument("--run", action="store_true", help="certify afresh (minutes), then render")
    parser.add_argument("--only", action="append", default=[], choices=[i.key for i in IMPLEMENTATIONS])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        if args.run:
            run_all(args.root, args.only)
        files = render(args.root)
    except (MatrixError, OSError, KeyError, subprocess.SubprocessError) as exc:
        print(f"results_matrix: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    stale = []
    for rel, text in files.items():
        path = args.root / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(rel))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(
            f"results_matrix: stale {', '.join(stale)}: run `.venv/bin/python tools/results_matrix.py`", file=sys.stderr
        )
        return 1
    print(f"results_matrix: {len(files)} files {'fresh' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
