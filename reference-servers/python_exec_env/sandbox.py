"""Run untrusted Python snippets in an isolated, resource-limited child process.

Contract:

* A `Sandbox` owns one episode directory ``<base>/openenv_pyexec_XXXX/`` (mode 0711) holding
  ``work/`` (the child's cwd and HOME; files persist across runs; mode 0700, owned by the
  session's uid), ``code/`` (one read-only file per run; 0750, group = the session's gid),
  ``grader/`` (0700, the server's own: files that score the code, never visible to it) and
  ``root/`` (the mount point of the minimal root). `Sandbox.close` kills whatever still runs as
  the session's uid, releases the uid and removes the whole directory.
* As root, every live `Sandbox` gets its own uid (= gid) from the reserved range
  ``[SESSION_UID_BASE, SESSION_UID_BASE + SESSION_UID_COUNT)``, held with an ``flock`` on
  ``<lock dir>/<uid>.lock`` (so several server processes share the range safely; the kernel
  releases it if the server dies) and released at close. Non-root servers cannot switch uids:
  their sessions share the server's uid and are kept apart by the minimal root only.
* `Sandbox.run` writes the code to ``code/step_<n>.py`` and starts ``_launcher.py`` in a new
  session with no descriptor but stdio and the status pipe; the launcher applies rlimits,
  namespaces, the minimal root and the uid drop (see its docstring) and execs
  ``<interpreter> -I -S <script>``. stdout/stderr are read incrementally; each is kept up to
  ``limits.output_bytes`` and the rest is drained and dropped, with `TRUNCATION_MARKER` appended.
  At the deadline the whole process group is killed with SIGKILL; without a PID namespace a root
  server also kills every process of the session's uid after each run (``uid-sweep``), so
  nothing the snippet started (``setsid()`` included) outlives the run.
* The child's environment is exactly `child_environment` (nothing inherited from the server).
* `RunResult.isolation` is what the launcher reported for that run; `probe_isolation` reports
  what this host allows without running user code; `Sandbox.isolation` is what a run of this
  sandbox gets.
* `Sandbox.read_file` reads a workdir file for a grader without following links out of it.
* `OPENENV_PYEXEC_WEAKEN` (comma-separated names of `WEAKENINGS`) removes defences: it exists
  only so that the adversarial tests can show each probe failing without its defence, and the
  isolation report then says what is missing. Never set it in a deployment.
* Failures of the sandbox itself (not of the snippet) raise `SandboxError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import math
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

TRUNCATION_MARKER = "\n[... output truncated by the sandbox ...]\n"
UNPRIVILEGED_UID = 65534
SESSION_UID_BASE = 1_600_000_000
"""First uid (and gid) of the range reserved for sessions; nothing else on the host may use it."""
SESSION_UID_COUNT = 1024
UID_LOCK_DIR = "/run/openenv-pyexec-uids"
WEAKENINGS = frozenset({"session-uid", "workdir-mode", "minimal-root", "uid-sweep", "fd-hygiene", "nofollow"})
WEAKEN_ENV = "OPENENV_PYEXEC_WEAKEN"
MAX_GRADER_READ_BYTES = 16 * 1024 * 1024
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
    tmp_bytes: int = 16 * 1024 * 1024
    """Size of the private tmpfs ``/tmp`` of the minimal root."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class Isolation:
    """Which isolation was in force: each field names the mechanism, or the weaker fallback."""

    network: str  # "netns" (no interfaces up, nothing reachable) | "host"
    filesystem: str  # "minimal-root" | "uid-drop" | "none" | "read-only-host" (weakened)
    processes: str  # "pidns" | "uid-sweep" | "process-group"
    proc: str  # "private" (/proc of the pid namespace) | "host"
    user: str  # e.g. "uid:1600000003" (root server) or "uid:1000 (server's own)+userns"
    sessions: str  # other sessions' files: "invisible" | "unreadable" | "readable"
    descriptors: str = "stdio-only"  # measured before exec: "stdio-only" | "inherited:<n>"

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


def weakenings() -> frozenset[str]:
    """The test-only weakenings named in ``$OPENENV_PYEXEC_WEAKEN`` (unknown names are an error)."""
    names = frozenset(n.strip() for n in os.environ.get(WEAKEN_ENV, "").split(",") if n.strip())
    unknown = names - WEAKENINGS - {"namespaces"}
    if unknown:
        raise ValueError(f"{WEAKEN_ENV}: unknown weakening(s) {sorted(unknown)}; known: {sorted(WEAKENINGS)}")
    return names


def child_environment(home: str, tmpdir: str) -> dict[str, str]:
    """The complete environment of the untrusted process."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmpdir,
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


class _UidLease:
    """One uid of the reserved range, held (``flock``) until `release`."""

    def __init__(self, uid: int, fd: int | None) -> None:
        self.uid = uid
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _lock_dir() -> str:
    for candidate in (UID_LOCK_DIR, os.path.join(tempfile.gettempdir(), "openenv-pyexec-uids")):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
            st = os.lstat(candidate)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
            return candidate
    raise SandboxError("no usable lock directory for session uids")


def acquire_session_uid() -> _UidLease:
    """Lease a free uid of the reserved range (root only); `SandboxError` when all are taken."""
    directory = _lock_dir()
    for uid in range(SESSION_UID_BASE, SESSION_UID_BASE + SESSION_UID_COUNT):
        fd = os.open(os.path.join(directory, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return _UidLease(uid, fd)
    raise SandboxError(f"all {SESSION_UID_COUNT} session uids are in use")


_KILL_SWEEP = (
    "import os, signal\n"
    "for _ in range(1000):\n"
    "    try:\n"
    "        os.kill(-1, signal.SIGKILL)\n"
    "    except ProcessLookupError:\n"
    "        break\n"
)


def kill_uid(uid: int) -> None:
    """Kill every process running as ``uid`` (root only): a helper as ``uid`` sends ``kill(-1)``."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [default_interpreter(), "-I", "-S", "-c", _KILL_SWEEP],
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            timeout=10,
            check=False,
        )


def _release(root: Path, lease: _UidLease | None, sweep_uid: int | None) -> None:
    if sweep_uid is not None:
        kill_uid(sweep_uid)
    shutil.rmtree(root, ignore_errors=True)
    if lease is not None:
        lease.release()


class Sandbox:
    """One episode's isolated workspace; not thread-safe (one run at a time)."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        interpreter: str | None = None,
        base_dir: str | None = None,
        unprivileged_uid: int | None = None,
        use_namespaces: bool = True,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.interpreter = interpreter or default_interpreter()
        self.weaken = weakenings()
        self._use_namespaces = use_namespaces and "namespaces" not in self.weaken
        self._is_root = os.geteuid() == 0
        self._lease: _UidLease | None = None
        if not self._is_root:
            self.uid = os.geteuid()
        elif unprivileged_uid is not None:
            self.uid = unprivileged_uid
        elif "session-uid" in self.weaken:
            self.uid = UNPRIVILEGED_UID
        else:
            self._lease = acquire_session_uid()
            self.uid = self._lease.uid
        try:
            self._root = Path(tempfile.mkdtemp(prefix="openenv_pyexec_", dir=base_dir))
        except OSError as exc:
            if self._lease is not None:
                self._lease.release()
            raise SandboxError(f"cannot create the episode directory: {exc}") from exc
        sweep = self._is_root and self.uid != 0 and "uid-sweep" not in self.weaken
        self._finalizer = weakref.finalize(self, _release, self._root, self._lease, self.uid if sweep else None)
        self.workdir = self._root / "work"
        self.grader_dir = self._root / "grader"
        self._code_dir = self._root / "code"
        self._rootfs = self._root / "root"
        self._runs = 0
        self._closed = False
        open_mode = 0o755 if "workdir-mode" in self.weaken else None
        os.chmod(self._root, open_mode or 0o711)
        self._code_dir.mkdir(mode=0o750)
        self.grader_dir.mkdir(mode=0o700)
        if open_mode:  # test-only: the grader directory is world-readable too
            os.chmod(self.grader_dir, open_mode)
        self._rootfs.mkdir(mode=0o700)
        self.workdir.mkdir(mode=0o700)
        (self.workdir / ".tmp").mkdir(mode=0o700)
        if open_mode:
            for path in (self.workdir, self.workdir / ".tmp"):
                os.chmod(path, open_mode)
        if self._is_root:
            os.chown(self._code_dir, 0, self.uid)
            for path in (self.workdir, self.workdir / ".tmp"):
                os.chown(path, self.uid, self.uid)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def isolation(self) -> Isolation:
        """What a run of this sandbox gets (the host's `probe_isolation` with this session's uid)."""
        probed = _probe(self.interpreter, self.weaken, self._use_namespaces)
        if self._is_root and probed.user.startswith("uid:"):
            return replace(probed, user=f"uid:{self.uid}")
        return probed

    def close(self) -> None:
        """Kill what still runs as the session, release its uid, remove its directory (idempotent;
        also done when the sandbox is garbage-collected or the interpreter exits unclosed)."""
        self._closed = True
        self._finalizer()

    def read_file(self, relative: str, max_bytes: int = MAX_GRADER_READ_BYTES) -> bytes:
        """A grader's read of ``work/<relative>``: each component is opened with O_NOFOLLOW
        below the workdir, so a link the code planted cannot point the server elsewhere."""
        parts = [p for p in relative.split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            raise SandboxError(f"{relative!r} is not a path below the workdir")
        if "nofollow" in self.weaken:  # test-only: the naive read a grader must not do
            with open(self.workdir.joinpath(*parts), "rb") as fh:
                return fh.read(max_bytes)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.workdir, flags | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = nxt
            try:
                leaf = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
            except OSError as exc:
                raise SandboxError(f"{relative!r}: {exc.strerror}") from exc
            with os.fdopen(leaf, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                    raise SandboxError(f"{relative!r} is not a regular file with a single link")
                return fh.read(max_bytes)
        except OSError as exc:
            raise SandboxError(f"{relative!r}: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def run(self, code: str, timeout_s: float) -> RunResult:
        """Run ``code`` to completion, error or ``timeout_s`` (0 < timeout_s <= 60)."""
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not isinstance(timeout_s, int | float) or not math.isfinite(timeout_s):
            raise ValueError(f"timeout_s must be a finite number, got {timeout_s!r}")
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout_s must be in (0, {MAX_TIMEOUT_S}], got {timeout_s}")
        size = len(code.encode("utf-8", errors="surrogateescape"))
        if size > MAX_CODE_BYTES:
            raise ValueError(f"code is {size} bytes; the limit is {MAX_CODE_BYTES}")
        name = self._write_script(code)
        before = _snapshot(self.workdir)
        result = self._execute(name, float(timeout_s))
        if result.isolation.processes == "uid-sweep":
            kill_uid(self.uid)
        return replace(result, files_changed=_changed_files(before, _snapshot(self.workdir)))

    def _write_script(self, code: str) -> str:
        """Write the next ``code/step_<n>.py`` (never through a planted link); return its name."""
        name = f"step_{self._runs}.py"
        self._runs += 1
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(self._code_dir / name, flags, 0o640), "wb") as fh:
            fh.write(code.encode("utf-8", errors="surrogateescape"))
            if self._is_root:
                os.fchown(fh.fileno(), 0, self.uid)
        return name

    def _execute(self, script: str, timeout_s: float) -> RunResult:
        status_r, status_w = os.pipe()
        config = {
            "status_fd": status_w,
            "uid": self.uid,
            "gid": self.uid,
            "namespaces": self._use_namespaces,
            "workdir": str(self.workdir),
            "code_dir": str(self._code_dir),
            "grader_dir": str(self.grader_dir),
            "rootfs": str(self._rootfs),
            "view": plan_view(self.interpreter),
            "script": script,
            "interpreter": self.interpreter,
            "limits": asdict(self.limits),
            "env": child_environment("", ""),
            "weaken": sorted(self.weaken),
        }
        start = time.monotonic()
        config["deadline"] = start + timeout_s
        payload = json.dumps(config).encode()
        config_r, config_w = os.pipe()
        try:
            # The configuration goes through a pipe, not argv: the namespace's init is the
            # launcher, and the code can read its command line.
            if len(payload) > 65536:
                raise SandboxError(f"launcher configuration too large ({len(payload)} bytes)")
            os.write(config_w, payload)
            os.close(config_w)
            proc = subprocess.Popen(
                [self.interpreter, "-I", "-S", str(_LAUNCHER), str(config_r)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(status_w, config_r),
                close_fds=True,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
                cwd=self._root,
            )
        except OSError as exc:
            os.close(status_r)
            raise SandboxError(f"could not start the sandbox: {exc}") from exc
        finally:
            os.close(status_w)
            os.close(config_r)
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
                    isolation=self.isolation,
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


def probe_isolation(interpreter: str | None = None) -> Isolation:
    """Isolation this host gives a run (runs an empty program once per configuration, cached)."""
    return _probe(interpreter or default_interpreter(), weakenings(), "namespaces" not in weakenings())


@functools.cache
def _probe(interpreter: str, weaken: frozenset[str], namespaces: bool) -> Isolation:
    del weaken  # part of the cache key: the sandbox below reads the same weakenings
    with Sandbox(interpreter=interpreter, use_namespaces=namespaces) as box:
        return box._execute(box._write_script(""), 10.0).isolation


_VIEW_PROBE = r"""
import importlib, importlib.machinery, json, os, sys, sysconfig
stdlib = os.path.dirname(os.__file__)
dynload = sysconfig.get_config_var("DESTSHARED") or os.path.join(stdlib, "lib-dynload")
suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
for name in sorted(os.listdir(dynload)) if os.path.isdir(dynload) else []:
    for suffix in suffixes:
        if name.endswith(suffix):
            try:
                importlib.import_module(name[: -len(suffix)])
            except BaseException:
                pass
            break
mapped = set()
with open("/proc/self/maps") as fh:
    for line in fh:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            mapped.add(parts[5].strip())
print(json.dumps({"stdlib": stdlib, "dynload": dynload, "mapped": sorted(mapped)}))
"""


def _elf_interpreter(path: str) -> str | None:
    """PT_INTERP of a 64-bit little-endian ELF executable (the dynamic loader's path), or None."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        phoff = int.from_bytes(head[0x20:0x28], "little")
        phentsize = int.from_bytes(head[0x36:0x38], "little")
        phnum = int.from_bytes(head[0x38:0x3A], "little")
        for i in range(min(phnum, 256)):
            fh.seek(phoff + i * phentsize)
            entry = fh.read(phentsize)
            if int.from_bytes(entry[0:4], "little") == 3:  # PT_INTERP
                offset = int.from_bytes(entry[8:16], "little")
                size = int.from_bytes(entry[32:40], "little")
                fh.seek(offset)
                return fh.read(min(size, 4096)).rstrip(b"\0").decode()
    return None


def view_paths(interpreter: str) -> list[str]:
    """What the code may see: the interpreter, its loader, standard library and shared libraries."""
    try:
        proc = subprocess.run(
            [interpreter, "-I", "-S", "-c", _VIEW_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=True,
        )
        found = json.loads(proc.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise SandboxError(f"cannot inspect the interpreter {interpreter}: {exc}") from exc
    paths = {interpreter, os.path.realpath(interpreter), found["stdlib"], found["dynload"]}
    loader = _elf_interpreter(os.path.realpath(interpreter))
    if loader:
        paths.add(loader)
    binary = os.path.realpath(interpreter)
    for mapped in found["mapped"]:
        if mapped != binary and os.path.isfile(mapped) and not mapped.startswith(found["stdlib"] + "/"):
            paths.add(os.path.dirname(mapped))
    return sorted(p for p in paths if os.path.lexists(p))


@functools.cache
def plan_view(interpreter: str) -> dict[str, list[Any]]:
    """The minimal root's layout for ``interpreter``: directories to create, host symlinks to
    reproduce (so every allow-listed path resolves as on the host) and read-only bind mounts
    (``[path, is_dir]``, none inside another bound directory)."""
    dirs: list[str] = []
    symlinks: dict[str, str] = {}
    binds: dict[str, bool] = {}

    def covered(path: str) -> bool:
        return any(path == b or path.startswith(b.rstrip("/") + "/") for b, is_dir in binds.items() if is_dir)

    def visit(path: str, depth: int) -> None:
        if depth > 40:
            raise SandboxError(f"too many symbolic links resolving {path}")
        parts = [p for p in os.path.normpath(path).split("/") if p]
        current = "/"
        for i, part in enumerate(parts):
            nxt = os.path.join(current, part)
            if covered(nxt):
                real = os.path.realpath(path)
                if real != os.path.normpath(path) and not covered(real):
                    visit(real, depth + 1)
                return
            st = os.lstat(nxt)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(nxt)
                symlinks[nxt] = target
                visit(os.path.join(current, target, *parts[i + 1 :]), depth + 1)
                return
            if i == len(parts) - 1:
                binds[nxt] = stat.S_ISDIR(st.st_mode)
            elif nxt not in dirs:
                dirs.append(nxt)
            current = nxt

    for path in sorted(view_paths(interpreter), key=lambda p: (p.count("/"), p)):
        visit(path, 0)
    kept = {p: d for p, d in binds.items() if not any(p.startswith(b.rstrip("/") + "/") for b in binds if binds[b])}
    return {
        "dirs": sorted(dirs),
        "symlinks": sorted(symlinks.items()),
        "binds": sorted([p, d] for p, d in kept.items()),
    }
