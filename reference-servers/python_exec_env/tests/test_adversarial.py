"""Issue 16's adversarial probes against a real python_exec_env server, per mode.

Modes: ``root`` (the server runs as root: per-session uids, namespaces, minimal root), ``nonroot``
(the server runs as uid 65533 through `subprocess` ``user=``, with the system interpreter: user
namespaces, minimal root, one shared uid) and ``external`` (``OPENENV_PYEXEC_URL`` names a server
started elsewhere, e.g. the container of ``reference-servers/docker/run.sh``). Every probe must
find no breach in every mode, and the isolation report must say what held.

Each probe must also *fail* without its defence: the ``weakened`` tests restart the server with
the test-only ``OPENENV_PYEXEC_WEAKEN`` naming the defences that stand between the probe and
its target (layered defences are removed together) and require the probe to report a breach,
and the reported isolation to show the weakening.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("openenv.server")

from pyexec_probes import PROBES, Rig, token
from python_exec_env.sandbox import SESSION_UID_BASE, SESSION_UID_COUNT

SERVERS = Path(__file__).resolve().parents[2]
REPO = SERVERS.parent
NONROOT_UID = 65533
START_TIMEOUT_S = 30.0
SYSTEM_PYTHON = "/usr/bin/python3"
SDK_SRC = os.environ.get("OPENENV_PYEXEC_SDK_SRC", str(REPO / "python-sdk" / "src"))
"""Where the server subprocess imports the SDK from (the working tree's unless overridden)."""

# The defences between each probe and its target, per mode (removed together to show a breach).
WEAKENED_ROOT = {
    "cross_session_read": "minimal-root,session-uid",
    "cross_session_write": "namespaces,session-uid",
    "host_paths": "minimal-root",
    "host_processes": "namespaces",
    "links_out": "minimal-root,workdir-mode",
    "proc_root_walks": "minimal-root",
    "setsid_survivor": "namespaces,uid-sweep",
    "fd_leaks": "fd-hygiene",
    "lock_timeout": "namespaces,uid-sweep",
    "eight_concurrent": "minimal-root,session-uid",
}
WEAKENED_NONROOT = {
    "cross_session_read": "minimal-root",
    "cross_session_write": "namespaces",
    "host_paths": "minimal-root",
    "host_processes": "namespaces",
    "links_out": "minimal-root",
    "proc_root_walks": "minimal-root",
    "setsid_survivor": "namespaces",
    "fd_leaks": "fd-hygiene",
    "lock_timeout": "namespaces",
    "eight_concurrent": "minimal-root",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@functools.cache
def _nonroot_possible() -> str | None:
    """Why the non-root server cannot run here (None when it can): it needs root to switch to uid
    65533, and a system interpreter of this version that can import the server as that uid."""
    if os.geteuid() != 0:
        return "the test runs as non-root already: the root-started non-root server needs root"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} missing"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": _pythonpath()}
    code = f"import sys; assert sys.version_info[:2] == {tuple(sys.version_info[:2])}; import python_exec_env.server"
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", code], cwd="/", env=env, user=NONROOT_UID, group=NONROOT_UID,
        extra_groups=[], capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return f"uid {NONROOT_UID} cannot import the server with {SYSTEM_PYTHON}: {proc.stderr.strip()[-300:]}"
    return None


def _pythonpath() -> str:
    site = [p for p in sys.path if p.endswith("site-packages")]
    return os.pathsep.join([str(SERVERS), SDK_SRC, *site])


class Server:
    """``python -m python_exec_env.server`` on a free loopback port, as root or as uid 65533."""

    def __init__(self, mode: str, weaken: str = "") -> None:
        self.port = _free_port()
        env = {"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(self.port), "LANG": "C.UTF-8"}
        if weaken:
            env["OPENENV_PYEXEC_WEAKEN"] = weaken
        env["PYTHONPATH"] = _pythonpath()
        if mode == "root":
            argv, user = [sys.executable, "-m", "python_exec_env.server"], None
        else:
            argv, user = [SYSTEM_PYTHON, "-m", "python_exec_env.server"], NONROOT_UID
        self.proc = subprocess.Popen(
            argv,
            cwd="/",
            env=env,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"server ({mode}, weaken={weaken!r}) did not start: {err[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()


def _kill_leftovers() -> None:
    """Weakened runs may leave the probes' own processes behind: kill those (by pid) only."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = (entry / "status").read_text().split("\nUid:")[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        ours = SESSION_UID_BASE <= int(uid) < SESSION_UID_BASE + SESSION_UID_COUNT or int(uid) in (65534, NONROOT_UID)
        if ours and (b"openenv_pyexec_" in cmdline or b"oe16-" in cmdline or b"/code/step_" in cmdline):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[tuple[str, str], Server]]:
    started: dict[tuple[str, str], Server] = {}
    yield started
    for server in started.values():
        server.stop()
    _kill_leftovers()


def _rig(servers: dict[tuple[str, str], Server], mode: str, weaken: str, tmp_path: Path) -> Rig:
    if mode == "external":
        url = os.environ.get("OPENENV_PYEXEC_URL")
        if not url:
            pytest.skip("set OPENENV_PYEXEC_URL to probe a server started elsewhere (run.sh does)")
        return Rig(url=url, server_source=os.environ.get("OPENENV_PYEXEC_SOURCE", "/app/python_exec_env/sandbox.py"))
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("the root mode needs the tests to run as root")
    if mode == "nonroot" and (reason := _nonroot_possible()):
        pytest.skip(reason)
    key = (mode, weaken)
    if key not in servers:
        servers[key] = Server(mode, weaken)
    marker = Path("/tmp") / f"openenv-host-marker-{token()}"
    marker.write_text("host file")
    marker.chmod(0o644)
    request_cleanup.append(marker)
    source = SERVERS / "python_exec_env" / "sandbox.py"
    return Rig(
        url=servers[key].url, server_pid=servers[key].proc.pid, server_source=str(source), host_marker=str(marker)
    )


request_cleanup: list[Path] = []


@pytest.fixture(autouse=True)
def _remove_markers() -> Iterator[None]:
    yield
    while request_cleanup:
        request_cleanup.pop().unlink(missing_ok=True)


@pytest.mark.parametrize("mode", ["root", "nonroot", "external"])
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_probe_finds_no_breach(servers: dict[tuple[str, str], Server], mode: str, probe: str, tmp_path: Path) -> None:
    rig = _rig(servers, mode, "", tmp_path)
    with rig.session() as s:
        isolation = s.isolation
    if isolation["filesystem"] != "minimal-root" and mode != "external":
        pytest.skip(f"this host gives the {mode} server no namespaces ({isolation}); test_sandbox covers the fallback")
    breaches = PROBES[probe](rig)
    assert breaches == [], f"{probe} ({mode}): {breaches}"
    # What held is what the report says: with namespaces, the minimal root hides other sessions.
    assert isolation["filesystem"] == "minimal-root", isolation
    assert isolation["sessions"] == "invisible", isolation
    assert (isolation["network"], isolation["processes"], isolation["proc"]) == ("netns", "pidns", "private")
    assert isolation["descriptors"] == "stdio-only", isolation


@pytest.mark.parametrize("mode", ["root", "nonroot"])
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_probe_breaches_without_its_defence(
    servers: dict[tuple[str, str], Server], mode: str, probe: str, tmp_path: Path
) -> None:
    weaken = (WEAKENED_ROOT if mode == "root" else WEAKENED_NONROOT)[probe]
    rig = _rig(servers, mode, weaken, tmp_path)
    breaches = PROBES[probe](rig)
    assert breaches, f"{probe} ({mode}) found nothing with {weaken} removed: the probe cannot fail"
    with rig.session() as s:
        isolation = s.isolation
    if weaken == "fd-hygiene":  # the report shows the weakening
        assert isolation["descriptors"].startswith("inherited:"), isolation
    else:
        assert isolation["filesystem"] != "minimal-root", isolation
    if "fd-hygiene" not in weaken and ("session-uid" in weaken or mode == "nonroot"):
        assert isolation["sessions"] in ("readable", "unreadable"), isolation


def test_weakening_names_are_checked() -> None:
    env = {**os.environ, "OPENENV_PYEXEC_WEAKEN": "no-such-defence"}
    code = "from python_exec_env.sandbox import Sandbox\nSandbox()"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=SERVERS, env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode != 0 and "unknown weakening" in proc.stderr


def test_no_shell_tools_in_the_minimal_root(servers: dict[tuple[str, str], Server], tmp_path: Path) -> None:
    rig = _rig(servers, "root", "", tmp_path)
    with rig.session() as s:
        seen = s.stdout_json("import json, os\nprint(json.dumps(sorted(os.listdir('/usr/bin'))))")
    assert all(name.startswith("python3") for name in seen), seen
    assert shutil.which("python3") is not None
