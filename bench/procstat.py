"""Read a process's CPU time and memory from ``/proc`` (Linux only).

``cpu_seconds(pid)`` is utime+stime of the whole process (all threads) in seconds;
``rss_bytes(pid)`` is ``VmRSS`` from ``/proc/<pid>/status``. Both raise :class:`ProcError` with the
path when the process is gone. :class:`CpuMeter` measures wall time and the server's CPU time over
a ``with`` block.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType
from typing import Self

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcError(RuntimeError):
    """A /proc file could not be read (the process is gone?)."""


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ProcError(f"cannot read {path}: {exc}") from exc


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` in seconds."""
    fields = _read(Path(f"/proc/{pid}/stat")).rsplit(")", 1)[1].split()
    # After the ")" the 1st field is "state" (field 3), so utime (14) and stime (15) are 11, 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes."""
    for line in _read(Path(f"/proc/{pid}/status")).splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ProcError(f"/proc/{pid}/status has no VmRSS line")


def thread_count(pid: int) -> int:
    """Number of threads of process ``pid``."""
    for line in _read(Path(f"/proc/{pid}/status")).splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise ProcError(f"/proc/{pid}/status has no Threads line")


def self_cpu_seconds() -> float:
    """CPU time of this process (all threads)."""
    return time.process_time()


class CpuMeter:
    """Wall seconds, server CPU seconds and client CPU seconds over a ``with`` block."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.wall = 0.0
        self.server_cpu = 0.0
        self.client_cpu = 0.0

    def __enter__(self) -> Self:
        self._cpu0 = cpu_seconds(self.server_pid)
        self._self0 = self_cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wall = time.perf_counter() - self._t0
        self.server_cpu = cpu_seconds(self.server_pid) - self._cpu0
        self.client_cpu = self_cpu_seconds() - self._self0
