"""Write a `Report` as JSON, JUnit XML and one self-contained HTML page; render the summary.

Contract: the JSON is `Report.to_json()` (validates against
`schemas/ConformanceReport.schema.json`).
JUnit maps FAIL (not expected) and stale expected failures to `<failure>`, ERROR to `<error>`,
UNIMPLEMENTED to `<skipped>`; every case keeps its message in `<system-out>`. The HTML page has no
external references (inline CSS and an inline SVG badge; transcripts in `<details>`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from openenv_conformance.model import CaseResult, Outcome, Report

COLOURS = {
    Outcome.PASS: "#2e7d32",
    Outcome.FAIL: "#c62828",
    Outcome.NON_STRICT: "#ef6c00",
    Outcome.UNIMPLEMENTED: "#6d6d6d",
    Outcome.INFORMATIONAL: "#1565c0",
    Outcome.ERROR: "#6a1b9a",
}


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")


def junit_xml(report: Report) -> str:
    suites = ET.Element("testsuites", name="openenv-conformance", tests=str(len(report.cases)))
    for profile in report.profiles:
        cases = [c for c in report.cases if c.profile == profile]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=profile,
            tests=str(len(cases)),
            failures=str(sum(1 for c in cases if c.blocking)),
            errors=str(sum(1 for c in cases if c.outcome is Outcome.ERROR)),
            skipped=str(sum(1 for c in cases if c.outcome is Outcome.UNIMPLEMENTED)),
            time=f"{sum(c.duration_ms for c in cases) / 1000.0:.3f}",
        )
        for case in cases:
            el = ET.SubElement(
                suite,
                "testcase",
                classname=f"openenv.{profile}",
                name=case.id,
                time=f"{case.duration_ms / 1000.0:.3f}",
            )
            label = f"[{case.level.value}] {case.outcome.value}: {case.message}"
            if case.stale_expectation:
                ET.SubElement(
                    el, "failure", message="stale expected failure", type="STALE"
                ).text = f"listed as expected failure ({case.expected_failure}) but {case.outcome.value}"
            elif case.blocking:
                ET.SubElement(el, "failure", message=case.message[:500], type="FAIL").text = label
            elif case.outcome is Outcome.ERROR:
                ET.SubElement(el, "error", message=case.message[:500], type="ERROR").text = label
            elif case.outcome is Outcome.UNIMPLEMENTED:
                ET.SubElement(el, "skipped", message=case.message[:500])
            out = label + (f"\nexpected failure: {case.expected_failure}" if case.expected_failure else "")
            ET.SubElement(el, "system-out").text = out
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def write_junit(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(report) + "\n", "utf-8")


def badge_svg(report: Report) -> str:
    counts = report.counts()
    total = len(report.cases)
    if report.passed:
        text, colour = f"{counts['PASS']}/{total} pass", "#2e7d32"
    else:
        blocking = sum(1 for c in report.cases if c.blocking)
        text, colour = f"{blocking} blocking", "#c62828"
    left, right = 86, 8 + 7 * len(text)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20" '
        f'role="img" aria-label="openenv conformance: {html.escape(text)}">'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,sans-serif" font-size="11">'
        f'<text x="6" y="14">conformance</text><text x="{left + 5}" y="14">'
        f"{html.escape(text)}</text></g></svg>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f0f0f0}.o{color:#fff;padding:.1em .4em;
border-radius:3px;font-size:.85em;white-space:nowrap}pre{background:#f7f7f7;padding:.5em;
overflow-x:auto;font-size:.8em;max-height:30em}details summary{cursor:pointer}code{font-size:.9em}
"""


def _pill(outcome: Outcome) -> str:
    return f'<span class="o" style="background:{COLOURS[outcome]}">{outcome.value}</span>'


def _transcript(case: CaseResult) -> str:
    lines = []
    for e in case.transcript:
        arrow = {"send": ">>>", "recv": "<<<"}.get(e.kind, "---")
        lines.append(f"{e.t_ms:9.2f} ms {e.conn:>10} {arrow} {e.kind:5} {e.data}")
    return html.escape("\n".join(lines) or "(no frames)")


def html_page(report: Report) -> str:
    data = report.to_json()
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>OpenEnv conformance — {html.escape(report.target)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>OpenEnv conformance report</h1><p>{badge_svg(report)}</p>",
        f"<p>Target <code>{html.escape(report.target)}</code> · harness "
        f"{html.escape(report.harness_version)} · started {html.escape(report.started_at)} · "
        f"seed {report.seed} · {report.duration_ms / 1000.0:.2f} s · negotiated "
        f"<code>{html.escape(str(report.negotiated_protocol))}</code> · result "
        f"<strong>{'PASSED' if report.passed else 'FAILED'}</strong></p>",
    ]
    if report.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>")
    verdicts = report.verdicts()
    for level, rs in report.requirement_sets.items():
        missing = ", ".join(rs.get("missing", ())) or "none"
        parts.append(
            f"<p>Requirement set <code>{html.escape(str(rs.get('name')))}</code>: {rs.get('counted')} checks ran; "
            f"missing: {html.escape(missing)}; verdict {html.escape(verdicts.get(level, '-'))}</p>"
        )
    parts.append("<h2>Summary by profile</h2><table><tr><th>profile</th>")
    parts.extend(f"<th>{_pill(o)}</th>" for o in Outcome)
    parts.append("<th>time</th></tr>")
    for p, row in data["summary"]["by_profile"].items():
        cells = "".join(f"<td>{row['counts'][o.value]}</td>" for o in Outcome)
        parts.append(f"<tr><td>{p}</td>{cells}<td>{row['duration_s']:.2f} s</td></tr>")
    parts.append("</table><h2>Cases</h2><table><tr><th>case</th><th>level</th><th>outcome</th>")
    parts.append("<th>clauses</th><th>message</th><th>ms</th></tr>")
    for case in report.cases:
        exp = ""
        if case.expected_failure is not None:
            tag = "STALE expected failure" if case.stale_expectation else "expected failure"
            exp = f"<br><em>{tag}: {html.escape(case.expected_failure)}</em>"
        if case.root_cause is not None:
            cause = html.escape(case.root_cause)
            exp += f"<br><em>consequence of <a href='#{cause}'>{cause}</a></em>"
        if not case.counted:
            exp += "<br><em>not in the frozen requirement set: reported, not counted</em>"
        if case.rerun is not None:
            exp += f"<br>rerun: <code>{html.escape(case.rerun)}</code>"
        parts.append(
            f"<tr id='{html.escape(case.id)}'><td><code>{html.escape(case.id)}</code><br>"
            f"{html.escape(case.title)}</td><td>{case.level.value}</td><td>{_pill(case.outcome)}"
            f"</td><td>{html.escape(', '.join(case.clauses))}</td><td>"
            f"{html.escape(case.message)}{exp}<details><summary>transcript "
            f"({len(case.transcript)} events)</summary><pre>{_transcript(case)}</pre></details>"
            f"</td><td>{case.duration_ms:.1f}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "".join(parts)


def write_html(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(report) + "\n", "utf-8")


BAR_WIDTH = 20


def progress_line(case: CaseResult, n: int, total: int) -> str:
    """One line per finished case, led by a progress bar: `[#####---] 12/85 core.x PASS (3 ms)`."""
    width = len(str(total))
    done = BAR_WIDTH * n // max(total, 1)
    bar = "#" * done + "-" * (BAR_WIDTH - done)
    flag = " (expected)" if case.expected_failure and not case.stale_expectation else ""
    flag = " (STALE expected failure)" if case.stale_expectation else flag
    took = f"({case.duration_ms:.0f} ms)"
    return f"[{bar}] {n:>{width}}/{total} {case.id:<40} {case.outcome.value}{flag} {took}"


def summary_text(report: Report) -> str:
    counts = report.counts()
    lines = [
        f"target {report.target}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v),
    ]
    for p in report.profiles:
        lines.append(f"  {p:<12} {report.profile_durations_ms.get(p, 0.0) / 1000.0:7.2f} s")
    for case in report.cases:
        if case.blocking or case.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.NON_STRICT):
            mark = "BLOCKING" if case.blocking else "expected" if case.expected_failure else ""
            lines.append(f"  {case.outcome.value:<13} {case.id} {mark}: {case.message[:160]}")
            if case.rerun:
                lines.append(f"      rerun: {case.rerun}")
    for rs in report.requirement_sets.values():
        missing = rs.get("missing") or []
        more = f"; MISSING {len(missing)}: {', '.join(missing[:10])}" if missing else ""
        lines.append(f"  requirement set {rs.get('name')}: {rs.get('counted')} counted checks ran{more}")
    lines.append("verdicts: " + ", ".join(f"{k} {v}" for k, v in report.verdicts().items()))
    lines.append("RESULT: " + ("PASSED" if report.passed else "FAILED"))
    return "\n".join(lines)
