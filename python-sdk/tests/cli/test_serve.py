"""`openenv serve`: a directory named by its manifest, --workers on one port, --reload, limits,
and one-line errors for bad options."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openenv.cli.__main__ import main

ENV_SOURCE = """
import os

from openenv import Observation, State
from openenv.server import Environment, create_app

MARK = "one"


class PidEnv(Environment):
    blocking = False

    def reset(self, seed=None, episode_id=None, **kwargs):
        return Observation(metadata={"pid": os.getpid(), "mark": MARK})

    def step(self, action):
        return Observation(reward=0.0)

    def state(self):
        return State(episode_id=None, step_count=0)


app = create_app(PidEnv, name="pid_env")
"""


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    (tmp_path / "pid_env.py").write_text(ENV_SOURCE)
    (tmp_path / "openenv.yaml").write_text("name: pid_env\napp: pid_env:app\nport: 8123\n")
    return tmp_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        port = _free_port()
        log = tmp_path_factory.mktemp("log") / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "openenv", "serve", *args, "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path_factory.getbasetemp(),
            )  # fmt: skip
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)

    yield start
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _reset_metadata(base: str) -> dict[str, object]:
    with httpx.Client() as client:  # a new connection each time: the kernel picks the worker
        body = client.post(base + "/reset", json={}, timeout=10).json()
    metadata = body["observation"].get("metadata") or body.get("metadata")
    assert isinstance(metadata, dict), body
    return metadata


def test_directory_served_with_limit_overrides(env_dir: Path, serve: object) -> None:
    base = serve(str(env_dir), "--max-sessions", "3", "--step-timeout", "2.5")  # type: ignore[operator]
    limits = httpx.get(base + "/metadata", timeout=5).json()["limits"]
    assert limits["max_sessions"] == 3 and limits["step_timeout_s"] == 2.5
    assert _reset_metadata(base)["mark"] == "one"


def test_workers_share_one_port(env_dir: Path, serve: object) -> None:
    base = serve(str(env_dir), "--workers", "2", "--max-sessions", "5")  # type: ignore[operator]
    pids = set()
    for _ in range(200):
        pids.add(_reset_metadata(base)["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2
    assert httpx.get(base + "/metadata", timeout=5).json()["limits"]["max_sessions"] == 5  # overrides reach workers


def test_reload_picks_up_source_changes(env_dir: Path, serve: object) -> None:
    base = serve(str(env_dir), "--reload")  # type: ignore[operator]
    assert _reset_metadata(base)["mark"] == "one"
    source = env_dir / "pid_env.py"
    source.write_text(source.read_text().replace('MARK = "one"', 'MARK = "two"'))
    deadline = time.monotonic() + 30
    mark = None
    while time.monotonic() < deadline:
        try:
            mark = _reset_metadata(base)["mark"]
        except (httpx.TransportError, KeyError, ValueError):
            mark = None  # the server is restarting
        if mark == "two":
            break
        time.sleep(0.3)
    assert mark == "two"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--workers", "65"], "--workers 65: at most 64"),
        (["--workers", "2", "--reload"], "--reload and --workers cannot be combined"),
        (["--port", "70000"], "--port: must be at most 65535"),
        (["--step-timeout", "nan"], "--step-timeout: must be a finite number above 0"),
        (["--max-sessions", "x"], "--max-sessions: expected a whole number"),
    ],
)
def test_bad_options_are_one_line(
    env_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(["serve", str(env_dir), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_bad_targets_are_one_line(
    env_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["serve", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such file or directory — check the path" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["serve", str(empty)]) == 2
    assert "no openenv.yaml here — pass an environment directory" in capsys.readouterr().err
    (env_dir / "openenv.yaml").write_text("name: pid_env\napp: other_module:app\n")
    assert main(["serve", str(env_dir)]) == 1
    assert "app: module 'other_module' is neither in" in capsys.readouterr().err
    (env_dir / "openenv.yaml").write_text("name: pid_env\napp: pid_env:missing\n")
    assert main(["serve", str(env_dir)]) == 1
    assert "cannot load pid_env:missing" in capsys.readouterr().err
    (env_dir / "openenv.yaml").write_text("name: pid_env\napp: pid_env:app\n")
    monkeypatch.setenv("PORT", "high")
    assert main(["serve", str(env_dir)]) == 2
    assert capsys.readouterr().err == "openenv: PORT='high' is not a port number — set PORT to 1–65535 or pass --port\n"


def test_port_in_use_is_one_line(env_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(env_dir), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"openenv: cannot listen on 127.0.0.1:{port}: Address already in use — pick another --port")
    assert err.count("\n") == 1
    assert main(["serve", str(env_dir), "--host", "no-such-host.invalid"]) == 2
    assert "--host no-such-host.invalid: cannot resolve it" in capsys.readouterr().err
