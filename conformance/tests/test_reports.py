"""Report files: the JSON validates against schemas/ConformanceReport.schema.json (and a broken
report does not), JUnit XML is well-formed with the right counts, the HTML page is
self-contained (no external URLs or scripts) and carries the badge and transcripts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import fast_options
from fake_server import FakeServer
from openenv_conformance import Report, arun_suite
from openenv_conformance.report_files import write_html, write_json, write_junit
from openenv_conformance.wire_schema import SchemaSet

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
