"""Child-side half of the sandbox: set up isolation, then exec the untrusted interpreter.

Run by `sandbox.py` as ``<python> -I -S _launcher.py <config-fd>`` in a fresh session (the
parent passes ``start_new_session=True`` and closes every other descriptor), with stdin on
/dev/null, the JSON configuration to read from the pipe ``<config-fd>`` (not argv: the code can
read init's command line) and a status pipe on the fd named in the config. This file imports only the standard
library and must stay importable with ``-I -S``. Steps, in order:

1. ``resource`` limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_NOFILE and
   RLIMIT_CORE=0 (they are inherited by everything the untrusted code starts).
2. Namespaces. As root: ``unshare(NEWNS|NEWNET|NEWPID)`` (needs CAP_SYS_ADMIN); if that is refused,
   drop to the session's uid first and continue as a non-root caller. As non-root:
   ``unshare(NEWUSER|NEWNS|NEWNET|NEWPID)`` with the caller's uid/gid mapped to themselves, then
   ``NEWUSER|NEWNET``; if all are refused, none.
3. With a PID namespace, fork: this process stays outside as the supervisor (it kills the
   namespace's init with SIGKILL at ``config["deadline"]``, a CLOCK_MONOTONIC time, and reports
   ``{"timed_out": true}``); the child is PID 1 (init) of the namespace.
4. With a mount namespace, init builds the *minimal root* and pivots into it (before any user
   code exists, so every process of the namespace, init included, has it as its root): a small
   tmpfs holding only the read-only bind mounts of ``config["view"]`` (the interpreter, its
   standard library and shared libraries, planned by ``sandbox.plan_view``), ``/dev/null`` and
   ``/dev/urandom``, a private size-bounded tmpfs ``/tmp``, the session's workdir at ``/work``
   (the only writable path besides ``/tmp``; nosuid, nodev, noexec), its code directory read-only
   at ``/code`` and a fresh ``/proc`` of the PID namespace; then ``pivot_root`` and a lazy unmount
   of the old root, so nothing of the host file tree stays reachable. The test-only weakening
   ``minimal-root`` replaces this with the former read-only view of the whole host.
5. Init forks the process that runs the user code (so that process is not PID 1 and signals
   behave normally), reaps every process, and when the user process ends reports
   ``{"wait_status": N}`` and exits, upon which the kernel kills everything left in the namespace.
6. Privileges: as root, the supervisor, init and the user process drop to the session's uid/gid
   with no supplementary groups; every process left clears its capabilities, is made
   non-dumpable (so the user code cannot ptrace init or the supervisor and forge the status
   line) and sets ``no_new_privs``.
7. ``chdir`` to the workdir, count the descriptors the exec would pass on besides stdio (the
   ``descriptors`` field), report the isolation in force as one JSON line on the (close-on-exec)
   status fd and ``execve`` the interpreter with the scrubbed environment.

Any failure before or at exec is reported as a later ``{"error": ...}`` line, exit status 125.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_PIVOT_ROOT = 155  # x86_64

_LOCKED_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "ro": MS_RDONLY}
SETUP_FAILED = 125
SANDBOX_WORKDIR = "/work"
SANDBOX_CODE = "/code"
SANDBOX_TMP = "/tmp"
ROOT_TMPFS_BYTES = 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> bool:
    return bool(_libc.unshare(ctypes.c_int(flags)) == 0)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = os.fsencode
    rc = _libc.mount(
        enc(source) if source is not None else None,
        enc(target),
        enc(fstype) if fstype is not None else None,
        ctypes.c_ulong(flags),
        enc(data) if data is not None else None,
    )
    _check(rc, f"mount {target}")


def _mount_flags(target: str) -> int:
    """The per-mount flags of the mount at ``target`` that a bind remount must keep (locked ones)."""
    flags = 0
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            if _unescape(fields[4]) == target:
                flags = 0
                for option in fields[5].split(","):
                    flags |= _LOCKED_OPTIONS.get(option, 0)
    return flags


def _bind(source: str, target: str, *, writable: bool = False, extra: int = MS_NOSUID | MS_NODEV) -> None:
    """Bind ``source`` on ``target``, then remount it read-only (unless ``writable``) with ``extra``."""
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | extra | _mount_flags(target)
    if writable:
        flags &= ~MS_RDONLY
    else:
        flags |= MS_RDONLY
    _mount(None, target, None, flags)


def _set_limits(limits: dict[str, int]) -> None:
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "memory_bytes": resource.RLIMIT_AS,
        "file_size_bytes": resource.RLIMIT_FSIZE,
        "max_processes": resource.RLIMIT_NPROC,
        "max_open_files": resource.RLIMIT_NOFILE,
    }
    for key, which in table.items():
        value = int(limits[key])
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() != uid or os.getegid() != gid:
        raise OSError("could not drop privileges")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _harden() -> None:
    """No capabilities, not dumpable (no ptrace, /proc entries root-owned), no new privileges."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(text)


def _map_self(uid: int, gid: int) -> None:
    """In a fresh user namespace: map our own uid/gid to themselves (nothing else is mapped)."""
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")


def _enter_namespaces(uid: int, gid: int, allowed: bool) -> tuple[int, str]:
    """Unshare what the platform allows; return (flags in force, user isolation label)."""
    if os.geteuid() == 0:
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
        if allowed and _unshare(flags):
            return flags, f"uid:{uid}"
        _drop_privileges(uid, gid)
        user = f"uid:{uid}"
    else:
        user = f"uid:{os.geteuid()} (server's own)"
    if not allowed:
        return 0, user
    me, my_group = os.geteuid(), os.getegid()
    for flags in (
        CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWUSER | CLONE_NEWNET,
    ):
        if _unshare(flags):
            _map_self(me, my_group)
            return flags, user + "+userns"
    return 0, user


def _supervise(init: int, deadline: float, status_fd: int) -> None:
    """Outside the PID namespace: wait for its init, killing it at the deadline; then exit."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    pidfd = os.pidfd_open(init)
    ready, _, _ = select.select([pidfd], [], [], max(deadline - time.monotonic(), 0.0))
    if not ready:
        os.kill(init, signal.SIGKILL)  # init is our unreaped child: the pid cannot be reused
        _report(status_fd, {"timed_out": True})
    os.waitpid(init, 0)
    os._exit(0)


def _run_init(user: int, status_fd: int) -> None:
    """PID 1 of the namespace: reap everything until ``user`` ends; report how it ended."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == user:
            _report(status_fd, {"wait_status": status})
            os._exit(0)  # the kernel now kills whatever is left in the namespace


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


def _read_only_host(workdir: str) -> list[str]:
    """Weakened (test-only) view: the whole host, read-only except ``workdir``; return failures."""
    _mount(workdir, workdir, None, MS_BIND | MS_REC)
    failures: list[str] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        entries = [line.split() for line in fh]
    for fields in entries:
        target = _unescape(fields[4])
        if target == workdir or target.startswith(workdir.rstrip("/") + "/"):
            continue
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for option in fields[5].split(","):
            flags |= _LOCKED_OPTIONS.get(option, 0)
        try:
            _mount(None, target, None, flags)
        except OSError as exc:
            failures.append(f"{target}: {exc.strerror}")
    return failures


def _touch(path: str) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def _minimal_root(config: dict[str, Any]) -> None:
    """Assemble the allow-listed root at ``config["rootfs"]`` and pivot into it."""
    new = str(config["rootfs"])
    view = config["view"]
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, f"size={ROOT_TMPFS_BYTES},mode=0755")
    for path in view["dirs"]:
        os.makedirs(new + path, mode=0o755, exist_ok=True)
    for path, target in view["symlinks"]:
        os.makedirs(os.path.dirname(new + path), mode=0o755, exist_ok=True)
        os.symlink(target, new + path)
    for path, is_dir in view["binds"]:
        stub = new + path
        os.makedirs(os.path.dirname(stub), mode=0o755, exist_ok=True)
        if is_dir:
            os.makedirs(stub, mode=0o755, exist_ok=True)
        else:
            _touch(stub)
        _bind(path, stub)
    os.makedirs(new + "/dev", mode=0o755)
    for device in ("/dev/null", "/dev/urandom"):
        _touch(new + device)
        _bind(device, new + device, writable=True, extra=MS_NOSUID | MS_NOEXEC)
    for path in (SANDBOX_TMP, SANDBOX_WORKDIR, SANDBOX_CODE, "/proc", "/.old"):
        os.makedirs(new + path, mode=0o755)
    tmp_bytes = int(config["limits"]["tmp_bytes"])
    _mount("tmpfs", new + SANDBOX_TMP, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={tmp_bytes},mode=1777")
    _bind(str(config["workdir"]), new + SANDBOX_WORKDIR, writable=True, extra=MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _bind(str(config["code_dir"]), new + SANDBOX_CODE, extra=MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(new)
    _check(_libc.syscall(_SYS_PIVOT_ROOT, b".", b".old"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount /.old")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | _mount_flags("/"))


def _report(fd: int, payload: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(payload) + "\n").encode())


def _exec_user_code(config: dict[str, Any], status_fd: int, isolation: dict[str, str], inside: bool) -> None:
    if os.geteuid() == 0:
        _drop_privileges(int(config["uid"]), int(config["gid"]))
    _harden()
    workdir = SANDBOX_WORKDIR if inside else str(config["workdir"])
    env = dict(config["env"])
    env["HOME"] = workdir
    env["TMPDIR"] = SANDBOX_TMP if inside else os.path.join(workdir, ".tmp")
    script = os.path.join(SANDBOX_CODE if inside else str(config["code_dir"]), str(config["script"]))
    os.chdir(workdir)
    argv = [config["interpreter"], "-I", "-S", script]
    leaked = _inherited_descriptors()
    isolation = {**isolation, "descriptors": f"inherited:{len(leaked)}" if leaked else "stdio-only"}
    _report(status_fd, {"isolation": isolation})
    os.execve(argv[0], argv, env)


def _inherited_descriptors() -> list[int]:
    """Descriptors above 2 that the exec would pass on (measured, for the isolation report)."""
    leaked = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                leaked.append(fd)
        except OSError:
            continue  # the descriptor of the listing itself, closed by now
    return leaked


def _after_drop(uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        _drop_privileges(uid, gid)
    _harden()


def main(config: dict[str, Any]) -> None:
    status_fd = int(config["status_fd"])
    uid, gid = int(config["uid"]), int(config["gid"])
    weaken = set(config["weaken"])
    os.set_inheritable(status_fd, False)  # closed by a successful exec: EOF tells the parent
    server_is_root = os.geteuid() == 0
    try:
        if "fd-hygiene" in weaken:  # test-only: a descriptor of the grader directory leaks
            os.set_inheritable(os.open(str(config["grader_dir"]), os.O_RDONLY | os.O_DIRECTORY), True)
        _set_limits(config["limits"])
        flags, user = _enter_namespaces(uid, gid, bool(config["namespaces"]))
        if flags & CLONE_NEWPID:
            init = os.fork()
            if init:
                _after_drop(uid, gid)
                _supervise(init, float(config["deadline"]), status_fd)
        filesystem = "uid-drop" if server_is_root else "none"
        proc = "host"
        inside = False
        if flags & CLONE_NEWNS:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            if "minimal-root" in weaken:
                failures = _read_only_host(str(config["workdir"]))
                if not any(f.startswith("/: ") for f in failures):
                    filesystem = "read-only-host"
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            else:
                _minimal_root(config)
                filesystem = "minimal-root"
                inside = True
            proc = "private"
        own_uid = server_is_root and "session-uid" not in weaken
        if filesystem == "minimal-root":
            sessions = "invisible"
        elif own_uid and "workdir-mode" not in weaken:
            sessions = "unreadable"
        else:
            sessions = "readable"
        if flags & CLONE_NEWPID:
            processes = "pidns"
        elif server_is_root and "uid-sweep" not in weaken:
            processes = "uid-sweep"
        else:
            processes = "process-group"
        isolation = {
            "network": "netns" if flags & CLONE_NEWNET else "host",
            "filesystem": filesystem,
            "processes": processes,
            "proc": proc,
            "user": user,
            "sessions": sessions,
        }
        if flags & CLONE_NEWPID:
            child = os.fork()
            if child:
                _after_drop(uid, gid)
                _run_init(child, status_fd)
        _exec_user_code(config, status_fd, isolation, inside)
    except BaseException as exc:
        try:
            _report(status_fd, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            os._exit(SETUP_FAILED)


def _read_config(fd: int) -> dict[str, Any]:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    config: dict[str, Any] = json.loads(b"".join(chunks))
    return config


if __name__ == "__main__":
    main(_read_config(int(sys.argv[1])))
