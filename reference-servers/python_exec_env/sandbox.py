"""Run untrusted Python snippets in an isolated, resource-limited child process.

Contract:

* A `Sandbox` owns one episode directory ``<base>/openenv_pyexec_XXXX/`` holding ``work/`` (the
  child's cwd, HOME and, via ``work/.tmp``, TMPDIR; files persist across runs) and ``code/`` (one
  read-only file per run). `Sandbox.close` removes the whole directory.
* `Sandbox.run` writes the code to ``code/step_<n>.py`` and starts ``_launcher.py`` in a new
  session; the launcher applies rlimits, namespaces and the uid drop (see its docstring) and
  execs ``<interpreter> -I -S code/step_<n>.py``. stdout/stderr are read incrementally; each is
  kept up to ``limits.output_bytes`` and the rest is drained and dropped, with `TRUNCATION_MARKER`
  appended. At the deadline the whole process group is killed with SIGKILL; it is always killed
  after the run, so nothing the snippet started outlives it.
* The child's environment is exactly `child_environment` (nothing inherited from the server).
* `RunResult.isolation` is what the launcher reported for that run; `probe_isolation` reports
  what this host allows without running user code.
* Failures of the sandbox itself (not of the snippet) raise `SandboxError`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

TRUNCATION_MARKER = "\n[... output truncated by the sandbox ...]\n"
UNPRIVILEGED_UID = 65534
MAX_CODE_BYTES = 1_000_000
MAX_TIMEOUT_S = 60.0
MAX_SCANNED_FILES = 10_000
MAX_REPORTED_FILES = 1_000
_READ_CHUNK = 65_536
_EXIT_GRACE_S = 0.25
_SUPERVISOR_GRACE_S = 1.0
_LAUNCHER = Path(__file__).with_name("_launcher.py")
_INTERPRETER_CANDIDATES = ("/usr/local/bin/python3", "/usr/bin/python3")


class SandboxError(RuntimeError):
    """The sandbox itself failed (set-up, I/O); the snippet was not (fully) run."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run resource limits; every value must be positive."""

    cpu_seconds: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    file_size_bytes: int = 16 * 1024 * 1024
    max_processes: int = 64
    max_open_files: int = 64
    output_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class Isolation:
    """Which isolation was in force: each field names the mechanism, or the weaker fallback."""

    network: str  # "netns" (no interfaces up, nothing reachable) | "host"
    filesystem: str  # "read-only-except-workdir" | "uid-drop" | "none"
    processes: str  # "pidns" | "process-group"
    proc: str  # "private" (/proc of the pid namespace) | "host"
    user: str  # e.g. "uid:65534+userns"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    """Outcome of one `Sandbox.run`."""

    stdout: str
    stderr: str
    exit_code: int  # the interpreter's exit status; -N if killed by signal N
    timed_out: bool
    execution_time_ms: float
    stdout_truncated: bool
    stderr_truncated: bool
    files_changed: tuple[str, ...]
    isolation: Isolation
    pid: int = field(repr=False)  # the run's session / process-group id (gone after the run)


def default_interpreter() -> str:
    """A system interpreter the unprivileged uid can execute (the venv's may be under /root)."""
    for candidate in _INTERPRETER_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.realpath(sys.executable)


def child_environment(workdir: Path) -> dict[str, str]:
    """The complete environment of the untrusted process."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir / ".tmp"),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class _Capture:
    """Bounded accumulation of one output stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self) -> str:
        body = self.data.decode("utf-8", errors="replace")
        return body + TRUNCATION_MARKER if self.dropped else body


class Sandbox:
    """One episode's isolated workspace; not thread-safe (one run at a time)."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        interpreter: str | None = None,
        base_dir: str | None = None,
        unprivileged_uid: int = UNPRIVILEGED_UID,
        use_namespaces: bool = True,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.interpreter = interpreter or default_interpreter()
        self._uid = unprivileged_uid
        self._use_namespaces = use_namespaces
        self._root = Path(tempfile.mkdtemp(prefix="openenv_pyexec_", dir=base_dir))
        self.workdir = self._root / "work"
        self._code_dir = self._root / "code"
        self._runs = 0
        self._closed = False
        os.chmod(self._root, 0o755)
        self._code_dir.mkdir(mode=0o755)
        self.workdir.mkdir(mode=0o700)
        (self.workdir / ".tmp").mkdir(mode=0o700)
        if os.geteuid() == 0:
            for path in (self.workdir, self.workdir / ".tmp"):
                os.chown(path, unprivileged_uid, unprivileged_uid)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the episode directory (idempotent)."""
        if not self._closed:
            self._closed = True
            shutil.rmtree(self._root, ignore_errors=True)

    def run(self, code: str, timeout_s: float) -> RunResult:
        """Run ``code`` to completion, error or ``timeout_s`` (0 < timeout_s <= 60)."""
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not isinstance(timeout_s, int | float) or not math.isfinite(timeout_s):
            raise ValueError(f"timeout_s must be a finite number, got {timeout_s!r}")
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout_s must be in (0, {MAX_TIMEOUT_S}], got {timeout_s}")
        encoded = code.encode("utf-8", errors="surrogateescape")
        if len(encoded) > MAX_CODE_BYTES:
            raise ValueError(f"code is {len(encoded)} bytes; the limit is {MAX_CODE_BYTES}")
        script = self._code_dir / f"step_{self._runs}.py"
        self._runs += 1
        script.write_bytes(encoded)
        os.chmod(script, 0o644)
        before = _snapshot(self.workdir)
        result = self._execute(str(script), float(timeout_s))
        return replace(result, files_changed=_changed_files(before, _snapshot(self.workdir)))

    def _execute(self, script: str, timeout_s: float) -> RunResult:
        status_r, status_w = os.pipe()
        config = {
            "status_fd": status_w,
            "uid": self._uid,
            "gid": self._uid,
            "namespaces": self._use_namespaces,
            "workdir": str(self.workdir),
            "script": script,
            "interpreter": self.interpreter,
            "limits": asdict(self.limits),
            "env": child_environment(self.workdir),
        }
        start = time.monotonic()
        config["deadline"] = start + timeout_s
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_LAUNCHER), json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(status_w,),
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
                cwd=self._root,
            )
        except OSError as exc:
            os.close(status_r)
            raise SandboxError(f"could not start the sandbox: {exc}") from exc
        finally:
            os.close(status_w)
        try:
            out, err, status, killed = self._pump(proc, status_r, start + timeout_s)
        finally:
            _kill_group(proc.pid)
            returncode = _reap(proc)
            os.close(status_r)
        elapsed_ms = (time.monotonic() - start) * 1000.0
        report = _parse_status(status.data)
        if "error" in report or "isolation" not in report:
            if killed or report.get("timed_out") or time.monotonic() >= start + timeout_s:
                # The deadline fell inside the sandbox's own set-up: the run timed out, it did
                # not fail (a timeout shorter than set-up is the caller's choice, not a fault).
                return RunResult(
                    stdout="",
                    stderr=f"TimeoutError: the {timeout_s:g} s limit expired before the program started",
                    exit_code=-1,
                    timed_out=True,
                    execution_time_ms=elapsed_ms,
                    stdout_truncated=False,
                    stderr_truncated=False,
                    files_changed=(),
                    isolation=probe_isolation(self.interpreter),
                    pid=proc.pid,
                )
            reason = report.get("error", f"launcher exited {returncode} before reporting")
            raise SandboxError(f"sandbox set-up failed: {reason}")
        timed_out = killed or bool(report.get("timed_out"))
        if "wait_status" in report:
            returncode = os.waitstatus_to_exitcode(int(report["wait_status"]))
        return RunResult(
            stdout=out.text(),
            stderr=err.text(),
            exit_code=-1 if timed_out else returncode,
            timed_out=timed_out,
            execution_time_ms=elapsed_ms,
            stdout_truncated=out.dropped > 0,
            stderr_truncated=err.dropped > 0,
            files_changed=(),
            isolation=Isolation(**report["isolation"]),
            pid=proc.pid,
        )

    def _pump(
        self, proc: subprocess.Popen[bytes], status_fd: int, deadline: float
    ) -> tuple[_Capture, _Capture, _Capture, bool]:
        """Read until the launcher is done; True if we had to kill it at the deadline.

        A run in a PID namespace is timed out by its supervisor (see ``_launcher``); the
        deadline here is then only a backstop, ``_SUPERVISOR_GRACE_S`` later.
        """
        assert proc.stdout is not None and proc.stderr is not None
        out, err = _Capture(self.limits.output_bytes), _Capture(self.limits.output_bytes)
        status = _Capture(_READ_CHUNK)
        sel = selectors.DefaultSelector()
        for fd, sink in ((proc.stdout.fileno(), out), (proc.stderr.fileno(), err)):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, sink)
        sel.register(status_fd, selectors.EVENT_READ, status)
        exited_at: float | None = None
        try:
            while sel.get_map():
                now = time.monotonic()
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > _EXIT_GRACE_S:
                    break  # the interpreter is gone; stragglers get killed with the group
                supervised = _parse_status(status.data).get("isolation", {}).get("processes", "pidns") == "pidns"
                limit = deadline + (_SUPERVISOR_GRACE_S if supervised else 0.0)
                if now >= limit:
                    return out, err, status, exited_at is None
                for key, _ in sel.select(timeout=min(limit - now, 0.05)):
                    chunk = os.read(key.fd, _READ_CHUNK)
                    if chunk:
                        key.data.feed(chunk)
                    else:
                        sel.unregister(key.fd)
            return out, err, status, False
        finally:
            sel.close()


def _parse_status(data: bytes | bytearray) -> dict[str, Any]:
    """Merge the launcher's complete JSON status lines (later keys win)."""
    merged: dict[str, Any] = {}
    for line in data.decode("utf-8", errors="replace").split("\n")[:-1]:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            merged.update(item)
    return merged


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _reap(proc: subprocess.Popen[bytes]) -> int:
    try:
        return proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired as exc:  # pragma: no cover - SIGKILL not delivered
        raise SandboxError(f"sandbox process {proc.pid} did not die after SIGKILL") from exc
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


_Stamp = tuple[int, int, int]


def _snapshot(root: Path) -> dict[str, _Stamp]:
    """(inode, size, mtime_ns) of up to MAX_SCANNED_FILES regular files below ``root``."""
    found: dict[str, _Stamp] = {}
    stack = [root]
    while stack and len(found) < MAX_SCANNED_FILES:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    rel = os.path.relpath(entry.path, root)
                    found[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                continue
    return found


def _changed_files(before: dict[str, _Stamp], after: dict[str, _Stamp]) -> tuple[str, ...]:
    changed = sorted(path for path, stamp in after.items() if before.get(path) != stamp)
    return tuple(changed[:MAX_REPORTED_FILES])


@functools.cache
def probe_isolation(interpreter: str | None = None) -> Isolation:
    """Isolation this host gives a run (runs an empty program once per process and caches it)."""
    with Sandbox(interpreter=interpreter) as box:
        return box.run("", timeout_s=10.0).isolation
