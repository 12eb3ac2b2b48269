"""Each sandbox limit holds against a snippet that tries to break it (every run is bounded)."""

from __future__ import annotations

import fcntl
import gc
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_exec_env.sandbox import (
    SESSION_UID_BASE,
    SESSION_UID_COUNT,
    TRUNCATION_MARKER,
    RunResult,
    Sandbox,
    SandboxError,
    SandboxLimits,
    _lock_dir,
    child_environment,
    default_interpreter,
    plan_view,
    probe_isolation,
)

SMALL = SandboxLimits(cpu_seconds=2, memory_bytes=256 * 1024 * 1024, max_processes=16)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SMALL) as sandbox:
        yield sandbox


def _group_gone(result: RunResult) -> bool:
    try:
        os.killpg(result.pid, 0)
    except ProcessLookupError:
        return True
    return False


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # fields after ")": state ppid pgrp session ...
                members.append(int(entry.name))
    return members


def test_runs_code_and_reports_changed_files(box: Sandbox) -> None:
    first = box.run("open('a.txt', 'w').write('1')\nprint('hello')", timeout_s=5)
    assert (first.stdout, first.stderr, first.exit_code) == ("hello\n", "", 0)
    assert first.files_changed == ("a.txt",)
    second = box.run("open('b.txt', 'w').write('2')\nprint(open('a.txt').read())", 5)
    assert second.stdout == "1\n"
    assert second.files_changed == ("b.txt",)
    assert (box.workdir / "a.txt").read_text() == "1"


def test_error_gives_nonzero_exit_and_traceback(box: Sandbox) -> None:
    result = box.run("raise ValueError('boom')", timeout_s=5)
    assert result.exit_code == 1
    assert not result.timed_out
    assert "ValueError: boom" in result.stderr


def test_infinite_loop_is_killed_at_the_timeout(box: Sandbox) -> None:
    start = time.monotonic()
    result = box.run("import time\nwhile True:\n    time.sleep(0.01)", timeout_s=0.5)
    wall = time.monotonic() - start
    assert result.timed_out
    assert result.exit_code == -1
    assert 0.5 <= wall < 3.0
    assert _group_gone(result)


def test_cpu_limit_kills_a_busy_loop_before_the_wall_clock_timeout() -> None:
    with Sandbox(SandboxLimits(cpu_seconds=1)) as sandbox:
        result = sandbox.run("while True:\n    pass", timeout_s=10)
    assert not result.timed_out
    assert result.exit_code in (-signal.SIGXCPU, -signal.SIGKILL)
    assert result.execution_time_ms < 5000


def test_memory_hog_gets_memory_error(box: Sandbox) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(32 * 1024 * 1024))"
    result = box.run(code, timeout_s=5)
    assert not result.timed_out
    assert result.exit_code == 1
    assert "MemoryError" in result.stderr


def test_fork_bomb_is_contained_and_cleaned_up(box: Sandbox) -> None:
    code = (
        "import os, time\n"
        "made = refused = 0\n"
        "while refused < 50 and made < 1000:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        refused += 1\n"
        "        continue\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    made += 1\n"
        "print(made, refused)\n"
    )
    result = box.run(code, timeout_s=5)
    made, refused = map(int, result.stdout.split())
    assert refused == 50
    assert made < SMALL.max_processes
    time.sleep(0.1)
    assert _group_gone(result)
    assert _session_members(result.pid) == []
    assert subprocess.run(["true"], check=False, timeout=5).returncode == 0  # host still forks


def test_unbounded_fork_bomb_ends_at_the_timeout(box: Sandbox) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = box.run(code, timeout_s=1)
    assert result.timed_out
    time.sleep(0.1)
    assert _session_members(result.pid) == []
    assert subprocess.run(["true"], check=False, timeout=5).returncode == 0


def test_background_process_does_not_outlive_the_run(box: Sandbox) -> None:
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    for _ in range(200):\n"
        "        open('alive', 'w').write(str(time.time()))\n"
        "        time.sleep(0.02)\n"
        "    os._exit(0)\n"
        "time.sleep(0.2)\n"
    )
    isolation = probe_isolation()
    if isolation.processes != "pidns":
        pytest.skip(f"no PID namespace here ({isolation}); a setsid() child can escape the group")
    box.run(code, timeout_s=5)
    alive = box.workdir / "alive"
    assert alive.exists()
    stamp = alive.stat().st_mtime_ns
    time.sleep(0.3)
    assert alive.stat().st_mtime_ns == stamp


def test_huge_output_is_truncated_at_the_cap_with_the_marker() -> None:
    limits = SandboxLimits(output_bytes=4096)
    code = "import sys\nsys.stdout.write('x' * 5_000_000)\nsys.stderr.write('y' * 5_000_000)"
    with Sandbox(limits) as sandbox:
        result = sandbox.run(code, timeout_s=10)
    assert result.exit_code == 0
    assert not result.timed_out
    assert result.stdout_truncated and result.stderr_truncated
    assert result.stdout == "x" * 4096 + TRUNCATION_MARKER
    assert result.stderr == "y" * 4096 + TRUNCATION_MARKER


def test_writes_outside_the_workdir_fail(box: Sandbox, tmp_path: Path) -> None:
    targets = [tmp_path / "escape.txt", box.workdir.parent / "code" / "escape.py"]
    isolation = probe_isolation()
    world_writable = [Path("/tmp") / f"openenv-escape-{uuid.uuid4().hex}"]
    if isolation.filesystem == "minimal-root":
        targets += world_writable
    code = (
        "import json\n"
        "outcomes = {}\n"
        f"for path in json.loads({json.dumps([str(t) for t in targets])!r}):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        outcomes[path] = 'written'\n"
        "    except OSError as exc:\n"
        "        outcomes[path] = type(exc).__name__\n"
        "print(json.dumps(outcomes))\n"
    )
    result = box.run(code, timeout_s=5)
    outcomes = json.loads(result.stdout)
    for target in targets:
        if target not in world_writable:  # those land in the private /tmp of the minimal root
            assert outcomes[str(target)] in ("PermissionError", "OSError", "FileNotFoundError"), outcomes
        assert not target.exists()
    if isolation.filesystem != "minimal-root":
        pytest.skip(f"no mount namespace here ({isolation}): world-writable dirs not covered")


def test_network_connection_to_a_host_loopback_port_fails(box: Sandbox) -> None:
    isolation = probe_isolation()
    if isolation.network != "netns":
        pytest.skip(f"no network namespace on this platform ({isolation})")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('refused', exc.errno)\n"
        )
        result = box.run(code, timeout_s=5)
        assert result.stdout.startswith("refused"), result
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_environment_is_scrubbed(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENENV_TEST_SECRET", "hunter2")
    result = box.run("import json, os\nprint(json.dumps(dict(os.environ)))", timeout_s=5)
    env = json.loads(result.stdout)
    if result.isolation.filesystem == "minimal-root":
        assert env == child_environment("/work", "/tmp")
    else:
        assert env == child_environment(str(box.workdir), str(box.workdir / ".tmp"))
    assert "hunter2" not in result.stdout


def test_fallback_without_namespaces_reports_it(tmp_path: Path) -> None:
    with Sandbox(SMALL, use_namespaces=False) as sandbox:
        result = sandbox.run("import os\nprint(os.getuid())", timeout_s=5)
    assert result.exit_code == 0
    assert result.isolation.network == "host"
    assert result.isolation.processes == ("uid-sweep" if os.geteuid() == 0 else "process-group")
    if os.geteuid() == 0:
        assert result.stdout == f"{sandbox.uid}\n"
        assert SESSION_UID_BASE <= sandbox.uid < SESSION_UID_BASE + SESSION_UID_COUNT
        assert result.isolation.filesystem == "uid-drop"
        assert result.isolation.processes == "uid-sweep"
        assert result.isolation.sessions == "unreadable"


def test_close_removes_the_episode_directory() -> None:
    sandbox = Sandbox(SMALL)
    sandbox.run("open('f', 'w').write('x')", timeout_s=5)
    root = sandbox.workdir.parent
    assert root.exists()
    sandbox.close()
    sandbox.close()
    assert not root.exists()


@pytest.mark.parametrize("timeout", [0, -1, 60.5, float("nan"), float("inf")])
def test_timeout_out_of_range_is_rejected(box: Sandbox, timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        box.run("pass", timeout_s=timeout)


def test_bad_limits_and_oversized_code_are_rejected(box: Sandbox) -> None:
    with pytest.raises(ValueError, match="cpu_seconds"):
        SandboxLimits(cpu_seconds=0)
    with pytest.raises(ValueError, match="limit is"):
        box.run("#" * 1_000_001, timeout_s=1)


@pytest.mark.parametrize("timeout_s", [5e-324, 1e-6, 0.001])
def test_timeout_shorter_than_set_up_is_a_timeout_not_a_failure(box: Sandbox, timeout_s: float) -> None:
    """Found by schemathesis through POST /step: a tiny limit used to raise SandboxError (HTTP 500)."""
    result = box.run("print('never')", timeout_s=timeout_s)
    assert result.timed_out and result.exit_code == -1 and "never" not in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="per-session uids need a root server")
def test_live_sessions_get_distinct_uids_released_at_close() -> None:
    first, second = Sandbox(SMALL), Sandbox(SMALL)
    try:
        assert first.uid != second.uid
        for box in (first, second):
            assert SESSION_UID_BASE <= box.uid < SESSION_UID_BASE + SESSION_UID_COUNT
            st = box.workdir.stat()
            assert (st.st_uid, st.st_mode & 0o777) == (box.uid, 0o700)
            assert box.grader_dir.stat().st_mode & 0o777 == 0o700
            assert box.grader_dir.stat().st_uid == 0
        lock = Path(_lock_dir()) / f"{first.uid}.lock"
        with lock.open("rb") as fh, pytest.raises(BlockingIOError):
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # leased while the session lives
    finally:
        first.close()
        second.close()
    with lock.open("rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at close


def test_read_file_refuses_links_planted_by_the_code(box: Sandbox) -> None:
    secret = box.grader_dir / "expected_stdout"
    secret.write_text("hidden-answer")
    code = (
        "import os\n"
        f"os.symlink({str(secret)!r}, 'sym.txt')\n"
        "os.mkdir('d')\n"
        f"os.symlink({str(box.grader_dir)!r}, 'd/up')\n"
        "open('plain.txt', 'w').write('ok')\n"
    )
    assert box.run(code, timeout_s=5).exit_code == 0
    assert box.read_file("plain.txt") == b"ok"
    for planted in ("sym.txt", "d/up/expected_stdout", "../grader/expected_stdout"):
        with pytest.raises(SandboxError):
            box.read_file(planted)
    os.link(secret, box.workdir / "hard.txt")  # what a hard link would look like to the grader
    with pytest.raises(SandboxError, match="single link"):
        box.read_file("hard.txt")


def test_read_file_follows_links_without_the_defence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENENV_PYEXEC_WEAKEN", "nofollow")
    with Sandbox(SMALL) as weak:
        (weak.grader_dir / "expected_stdout").write_text("hidden-answer")
        weak.run(f"import os\nos.symlink({str(weak.grader_dir / 'expected_stdout')!r}, 'sym.txt')", timeout_s=5)
        assert weak.read_file("sym.txt") == b"hidden-answer"  # the probe above would fail


def test_plan_view_is_an_allow_list() -> None:
    plan = plan_view(default_interpreter())
    bound = [path for path, _ in plan["binds"]]
    assert any(p.endswith("/python3.11") or "python3" in p for p in bound)
    for forbidden in ("/etc", "/tmp", "/root", "/home", "/usr", "/work", str(Path(__file__).parents[1])):
        assert forbidden not in bound
    assert all(not p.startswith("/proc") for p in bound)


CROSS_READ = (
    "import glob, json\n"
    "out = dict()\n"
    "for path in glob.glob({pattern!r}):\n"
    "    try:\n"
    "        out[path] = open(path).read()\n"
    "    except OSError as exc:\n"
    "        out[path] = type(exc).__name__\n"
    "print(json.dumps(out))\n"
)


def _cross_read(reader: Sandbox, victim: Sandbox) -> dict[str, str]:
    victim.run("open('secret.txt', 'w').write('hidden-answer-42')", timeout_s=5)
    pattern = str(victim.workdir.parent.parent / "openenv_pyexec_*" / "work" / "secret.txt")
    result = reader.run(CROSS_READ.format(pattern=pattern), timeout_s=5)
    seen: dict[str, str] = json.loads(result.stdout)
    return seen


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid fallback needs a root server")
def test_without_namespaces_own_uids_keep_sessions_apart() -> None:
    with (
        Sandbox(SMALL, use_namespaces=False) as a,
        Sandbox(SMALL, use_namespaces=False) as b,
    ):
        seen = _cross_read(b, a)
        assert "hidden-answer-42" not in json.dumps(seen), seen
        assert b.run("pass", timeout_s=5).isolation.sessions == "unreadable"


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid fallback needs a root server")
def test_without_namespaces_a_shared_uid_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same probe with the per-session uid removed: the leak the issue reported."""
    monkeypatch.setenv("OPENENV_PYEXEC_WEAKEN", "session-uid")
    with (
        Sandbox(SMALL, use_namespaces=False) as a,
        Sandbox(SMALL, use_namespaces=False) as b,
    ):
        seen = _cross_read(b, a)
        assert "hidden-answer-42" in json.dumps(seen), seen
        assert b.run("pass", timeout_s=5).isolation.sessions == "readable"


def test_an_unclosed_sandbox_is_cleaned_up_when_collected() -> None:
    sandbox = Sandbox(SMALL)
    root = sandbox.workdir.parent
    sandbox.run("open('f', 'w').write('x')", timeout_s=5)
    del sandbox
    gc.collect()
    assert not root.exists()
