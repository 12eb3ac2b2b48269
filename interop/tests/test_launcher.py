"""The launcher's bounds and error reporting (real child processes, no servers faked)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from interop.legacy_server import legacy_env, legacy_python, start_legacy_server
from interop.server_process import ServerStartError, free_port, start_server_process


def test_dying_server_reports_status_and_stderr_tail() -> None:
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no app here'); sys.exit(3)"]
    with pytest.raises(ServerStartError, match=r"(?s)exited with status 3.*boom: no app here"):
        start_server_process(argv, port=free_port(), name="dying", env={}, startup_timeout_s=10)


def test_silent_server_times_out_and_is_stopped() -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(ServerStartError, match=r"did not answer GET /health within 1 s"):
        start_server_process(argv, port=free_port(), name="silent", env={}, startup_timeout_s=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app": "coding"}, "unknown legacy app 'coding'"),
        ({"app": "typed", "max_sessions": 0}, "max_sessions must be in 1..100000"),
        ({"app": "typed", "cpu": 10_000}, "cpu 10000 is not in"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        start_legacy_server(**kwargs)  # type: ignore[arg-type]


def test_legacy_interpreter_imports_the_real_0_10_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even with our SDK on PYTHONPATH in the parent, the child sees only the 0.10 package.
    monkeypatch.setenv("PYTHONPATH", "python-sdk/src")
    code = "import importlib.metadata as m, openenv; print(m.version('openenv'), openenv.__file__)"
    out = subprocess.run(
        [str(legacy_python()), "-c", code],
        env=legacy_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[0] == "0.10.0"
    assert ".venv-openenv010" in out[1]
