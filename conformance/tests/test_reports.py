"""Report files: the JSON validates against schemas/ConformanceReport.schema.json (and a broken
report does not), JUnit XML is well-formed with the right counts, the HTML page is
self-contained (no external URLs or scripts) and carries the badge and transcripts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fake_server import FakeServer
from openenv_conformance import Report, arun_suite
from openenv_conformance.report_files import write_html, write_json, write_junit
from openenv_conformance.wire_schema import SchemaSet

from conftest import fast_options

ONLY = {"core.reset.envelope", "core.error.invalid_json", "v1.hello", "performance.step_latency",
        "http.health", "concurrency.idle_timeout"}  # fmt: skip


@pytest.fixture(scope="module")
def report() -> Report:
    import asyncio

    with FakeServer({"binary_closes"}) as srv:
        return asyncio.run(
            arun_suite(
                srv.base_url,
                options=fast_options(),
                only=ONLY | {"robustness.binary_frame"},
                expected_failures={"core.error.invalid_json": "listed on purpose (stale)"},
            )
        )


def test_json_report_validates(report: Report, tmp_path: Path) -> None:
    write_json(report, tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    schemas = SchemaSet.load()
    assert schemas.errors("ConformanceReport", doc) == []
    assert doc["summary"]["stale_expected_failures"] == ["core.error.invalid_json"]
    assert doc["passed"] is False
    assert set(doc["summary"]["blocking"]) == {"core.error.invalid_json", "robustness.binary_frame"}
    broken = dict(doc, cases=[dict(doc["cases"][0], outcome="SKIPPED")])
    assert schemas.errors("ConformanceReport", broken) != []


def test_junit(report: Report, tmp_path: Path) -> None:
    write_junit(report, tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(report.cases)
    failures = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failures == {"core.error.invalid_json", "robustness.binary_frame"}
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert "concurrency.idle_timeout" in skipped


def test_html_is_self_contained(report: Report, tmp_path: Path) -> None:
    write_html(report, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "<svg" in page and "<details>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "robustness.binary_frame" in page and "STALE expected failure" in page
    assert "&lt;binary 16 bytes&gt;" in page  # the transcript is there, escaped


def test_html_renders_in_headless_chromium(report: Report, tmp_path: Path) -> None:
    """The page as a real browser renders it, with the network shut: every case row, the badge and
    a transcript survive, and a screenshot is non-trivial (Debian's chromium; `make browser`)."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing: `make browser` installs it (the Makefile's test target does)"
    page = tmp_path / "report.html"
    write_html(report, page)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--proxy-server=127.0.0.1:9",  # any network fetch would fail: the page must not need one
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for case in report.cases:
        assert f'id="{case.id}"' in dom
    assert "<svg" in dom and "<details>" in dom and "Summary by profile" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank canvas


def test_progress_line_has_a_bar(report: Report) -> None:
    from openenv_conformance.report_files import progress_line

    first = progress_line(report.cases[0], 1, 4)
    last = progress_line(report.cases[0], 4, 4)
    assert first.startswith("[#####---------------] 1/4 ") and last.startswith("[####################] 4/4 ")
    assert report.cases[0].id in first and report.cases[0].outcome.value in first
