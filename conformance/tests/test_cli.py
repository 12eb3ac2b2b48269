"""Command line: exit codes, one-line errors without tracebacks, report files, `python -m`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fake_server import FakeServer
from openenv_conformance.cli import main


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_target_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", f"http://127.0.0.1:{_closed_port()}", "--timeout", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("openenv-conformance: cannot reach http://127.0.0.1:")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["run", "x:1", "--profile", "nope"], ["run", "x:1", "--action", "[1]"], ["frobnicate"]],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_run_writes_reports_and_exit_status(clean_server: FakeServer, tmp_path: Path) -> None:
    argv = ["run", clean_server.base_url, "--timeout", "2", "--profile", "core",
            "--check", "core.ws.upgrade", "--check", "core.state.step_count", "--quiet",
            "--report-dir", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((tmp_path / "report.json").read_text())
    assert [c["id"] for c in doc["cases"]] == ["core.ws.upgrade", "core.state.step_count"]
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.html").exists()
    stale = tmp_path / "stale.yaml"
    stale.write_text("failures:\n  - id: core.ws.upgrade\n    reason: pretend it fails\n")
    assert main([*argv, "--expected-failures", str(stale)]) == 1


def test_python_dash_m() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "openenv_conformance", "run", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and "--expected-failures" in out.stdout
