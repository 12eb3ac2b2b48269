"""Child-side half of the sandbox: set up isolation, then exec the untrusted interpreter.

Run by `sandbox.py` as ``<python> -I -S _launcher.py <config-json>`` in a fresh session (the
parent passes ``start_new_session=True``), with stdin on /dev/null and a status pipe on the fd
named in the config. This file imports only the standard library and must stay importable with
``-I -S``. Steps, in order:

1. ``resource`` limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_NOFILE and
   RLIMIT_CORE=0 (they are inherited by everything the untrusted code starts).
2. Namespaces. As root: ``unshare(NEWNS|NEWNET|NEWPID)`` (needs CAP_SYS_ADMIN); if that is refused,
   drop to the unprivileged uid first and continue as a non-root caller. As non-root:
   ``unshare(NEWUSER|NEWNS|NEWNET|NEWPID)``, then ``NEWUSER|NEWNET``; if all are refused, none.
3. With a PID namespace, fork: this process stays outside as the supervisor (it kills the
   namespace's init with SIGKILL at ``config["deadline"]``, a CLOCK_MONOTONIC time, and reports
   ``{"timed_out": true}``); the child is PID 1 (init) of the namespace. Init forks the process
   that runs the user code (so that process is not PID 1 and signals behave normally), reaps every
   process, and when the user process ends reports ``{"wait_status": N}`` and exits, upon which the
   kernel kills everything left in the namespace.
4. With a mount namespace: make every mount private, bind the workdir onto itself, remount every
   other mount read-only (``MS_BIND|MS_REMOUNT|MS_RDONLY``: per-mount flags, never the superblock),
   and mount a fresh /proc for the PID namespace.
5. As root: drop to the unprivileged uid/gid with no supplementary groups (supervisor and init
   drop too, once they no longer need privileges).
6. ``chdir(workdir)``, report the isolation in force as one JSON line on the (close-on-exec)
   status fd and ``execve`` the interpreter with the scrubbed environment from the config.

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

_LOCKED_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
SETUP_FAILED = 125

_libc = ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> bool:
    return bool(_libc.unshare(ctypes.c_int(flags)) == 0)


def _mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    enc = os.fsencode
    rc = _libc.mount(
        enc(source) if source is not None else None,
        enc(target),
        enc(fstype) if fstype is not None else None,
        ctypes.c_ulong(flags),
        None,
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


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
    for flags in (
        CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWUSER | CLONE_NEWNET,
    ):
        if _unshare(flags):
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


def _isolate_mounts(workdir: str) -> list[str]:
    """Make everything but ``workdir`` read-only in this mount namespace; return failures."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
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


def _report(fd: int, payload: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(payload) + "\n").encode())


def _exec_user_code(config: dict[str, Any], status_fd: int, isolation: dict[str, str]) -> None:
    if os.geteuid() == 0:
        _drop_privileges(int(config["uid"]), int(config["gid"]))
    os.chdir(str(config["workdir"]))
    argv = [config["interpreter"], "-I", "-S", config["script"]]
    _report(status_fd, {"isolation": isolation})
    os.execve(argv[0], argv, dict(config["env"]))


def main(config: dict[str, Any]) -> None:
    status_fd = int(config["status_fd"])
    uid, gid = int(config["uid"]), int(config["gid"])
    os.set_inheritable(status_fd, False)  # closed by a successful exec: EOF tells the parent
    server_is_root = os.geteuid() == 0
    try:
        _set_limits(config["limits"])
        flags, user = _enter_namespaces(uid, gid, bool(config["namespaces"]))
        if flags & CLONE_NEWPID:
            init = os.fork()
            if init:
                if os.geteuid() == 0:
                    _drop_privileges(uid, gid)
                _supervise(init, float(config["deadline"]), status_fd)
        filesystem = "uid-drop" if server_is_root else "none"
        proc = "host"
        if flags & CLONE_NEWNS:
            failures = _isolate_mounts(str(config["workdir"]))
            if not any(f.startswith("/: ") for f in failures):
                filesystem = "read-only-except-workdir"
            try:
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                proc = "private"
            except OSError:
                proc = "host"
        isolation = {
            "network": "netns" if flags & CLONE_NEWNET else "host",
            "filesystem": filesystem,
            "processes": "pidns" if flags & CLONE_NEWPID else "process-group",
            "proc": proc,
            "user": user,
        }
        if flags & CLONE_NEWPID:
            child = os.fork()
            if child:
                if os.geteuid() == 0:
                    _drop_privileges(uid, gid)
                _run_init(child, status_fd)
        _exec_user_code(config, status_fd, isolation)
    except BaseException as exc:
        try:
            _report(status_fd, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            os._exit(SETUP_FAILED)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
