"""Certify a client: play every scenario against the client command and build the `Report`.

Contract: `arun_client_suite(command, ...)` runs, for each selected scenario in turn, a fresh
`ScriptedServer` on loopback and the client command as a child process (no shell) with the
environment variables `OPENENV_CONFORMANCE_URL` (the server's `http://127.0.0.1:PORT`) and
`OPENENV_CONFORMANCE_PLAN` (the JSON plan); it reads one JSON result line per operation from the
child's stdout (at most `MAX_LINE_BYTES` per line), kills the child after the scenario's
`limit_s`, and judges. A case is ERROR only when the harness could not set up: the command
could not be started, produced no result line at all, or the scripted server itself failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openenv_conformance import __version__
from openenv_conformance.clauses import ClauseIndex
from openenv_conformance.clientcert.scenarios import SCENARIOS, Scenario, ScenarioRun
from openenv_conformance.clientcert.scripted import ScriptedServer
from openenv_conformance.expected import expectation, load_expected_failures
from openenv_conformance.frozen_sets import SETS as FROZEN
from openenv_conformance.model import MAX_EVENT_CHARS, CaseResult, Event, Level, Outcome, Report
from openenv_conformance.paths import clause_index_path
from openenv_conformance.verdicts import Fail, Info, Tolerated, Undecided, Unimplemented

PLAN_ENV = "OPENENV_CONFORMANCE_PLAN"
URL_ENV = "OPENENV_CONFORMANCE_URL"
STDIN_ENV = "OPENENV_CONFORMANCE_STDIN"
MAX_LINE_BYTES = 32 * 1024 * 1024
MAX_STDERR_CHARS = 4_000
PROFILE = "client"

Progress = Callable[[CaseResult, int, int], None]


def select_scenarios(only: Iterable[str] | None = None) -> list[Scenario]:
    if only is None:
        return list(SCENARIOS.values())
    wanted = list(only)
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown client scenario(s) {unknown}; see `openenv-conformance serve-client --list`")
    return [SCENARIOS[s] for s in wanted]


def _argv(command: str | Sequence[str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise ValueError("the client command is empty")
    return argv


def _parse(line: bytes) -> dict[str, Any] | None:
    text = line.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Driver:
    """The client command: one process per scenario, or one for the whole run (`persistent`).

    In persistent mode the driver gets `OPENENV_CONFORMANCE_STDIN=1`, reads one plan per line on
    stdin (the plan carries `url`) and ends each plan's results with `{"op": "end"}`; a driver
    that hangs is killed and started afresh for the next scenario.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None, persistent: bool) -> None:
        self.argv, self.env, self.cwd, self.persistent = argv, env, cwd, persistent
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.stderr = bytearray()
        self._tasks: list[asyncio.Task[None]] = []

    async def _spawn(self, extra_env: dict[str, str]) -> asyncio.subprocess.Process:
        self.lines = asyncio.Queue()
        self.stderr = bytearray()
        proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE if self.persistent else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self.env, **extra_env},
            cwd=self.cwd,
            limit=MAX_LINE_BYTES,
        )
        assert proc.stdout is not None and proc.stderr is not None
        self._tasks = [
            asyncio.create_task(self._pump_out(proc.stdout, self.lines)),
            asyncio.create_task(self._pump_err(proc.stderr, self.stderr)),
        ]
        return proc

    @staticmethod
    async def _pump_out(stream: asyncio.StreamReader, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # longer than MAX_LINE_BYTES: not a result
                continue
            if not line:
                await queue.put(None)
                return
            value = _parse(line)
            if value is not None:
                await queue.put(value)

    @staticmethod
    async def _pump_err(stream: asyncio.StreamReader, sink: bytearray) -> None:
        while chunk := await stream.read(65536):
            sink.extend(chunk)
            del sink[: max(0, len(sink) - MAX_STDERR_CHARS)]

    async def run(self, plan: dict[str, Any], url: str, limit_s: float) -> tuple[list[dict[str, Any]], int | None]:
        """Results of one plan and the exit status (None: killed after `limit_s`; 0 persistent)."""
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + limit_s
        if self.persistent:
            if self.proc is None or self.proc.returncode is not None:
                self.proc = await self._spawn({STDIN_ENV: "1"})
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write((json.dumps({**plan, "url": url}) + "\n").encode())
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self.proc = await self._spawn({URL_ENV: url, PLAN_ENV: json.dumps(plan)})
        proc = self.proc
        while True:
            try:
                item = await asyncio.wait_for(self.lines.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await self._kill()
                return results, None
            if item is None:  # stdout closed: the driver exited
                break
            if self.persistent and item.get("op") == "end":
                return results, 0
            results.append(item)
        try:
            code = await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            await self._kill()
            return results, None
        await self._drain()
        return results, code

    async def _drain(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 5.0)

    async def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._drain()
        self.proc = None

    async def aclose(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 5.0)
        await self._kill()

    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


async def _play(scenario: Scenario, driver: Driver) -> tuple[ScenarioRun | None, str | None, list[Event], float]:
    """Run one scenario; (run, set-up problem, transcript, duration ms)."""
    t0 = time.monotonic()
    events: list[Event] = []
    plan = {"scenario": scenario.id, "timeout_s": scenario.timeout_s, "ops": list(scenario.plan)}
    server = ScriptedServer(
        scenario.play,
        offer_v1=scenario.offer_v1,
        refuse=scenario.refuse,
        retry_after_s=scenario.retry_after_s,
        **scenario.options,
    )
    async with server:
        try:
            results, exit_code = await driver.run(plan, server.base_url, scenario.limit_s)
        except OSError as exc:
            return None, f"cannot start the client command {driver.argv[0]!r}: {exc}", events, 0.0
        stderr = driver.stderr_text()
    duration = (time.monotonic() - t0) * 1000.0
    for peer in server.peers:
        conn = f"ws{peer.index + 1}"
        offered = ", ".join(peer.offered) or "none"
        events.append(Event(peer.opened_at * 1000, conn, "open", f"offered [{offered}], selected {peer.selected}"))
        for frame in peer.frames:
            text = frame.text if len(frame.text) <= MAX_EVENT_CHARS else frame.text[:MAX_EVENT_CHARS] + "…"
            events.append(Event(frame.t * 1000, conn, "recv", text))
        if peer.ended_at is not None:
            events.append(Event(peer.ended_at * 1000, conn, "close", f"client close code {peer.client_close_code}"))
    for refusal in server.refusals:
        events.append(
            Event(refusal.t * 1000, "http", "http", f"upgrade refused: 503, Retry-After {refusal.retry_after_s:g}")
        )
    events.sort(key=lambda e: e.t_ms)
    for n, res in enumerate(results, 1):
        text = json.dumps(res)
        events.append(Event(duration, "client", "note", f"result {n}: {text[:MAX_EVENT_CHARS]}", len(text)))
    if server.errors:
        return None, server.errors[0], events, duration
    if not results and exit_code not in (None, 0):
        tail = stderr.strip()[-MAX_STDERR_CHARS:]
        return (
            None,
            f"the client command exited with status {exit_code} before reporting anything: {tail}",
            events,
            duration,
        )
    return (
        ScenarioRun(list(scenario.plan), results, server, exit_code, stderr[-MAX_STDERR_CHARS:]),
        None,
        events,
        duration,
    )


def _outcome(scenario: Scenario, run: ScenarioRun, index: ClauseIndex, level: Level) -> tuple[Outcome, str]:
    try:
        return Outcome.PASS, scenario.judge(run) or ""
    except Fail as exc:
        violated = exc.level or (index.level_of(exc.clauses) if exc.clauses else level)
        return (Outcome.FAIL if violated is Level.MUST else Outcome.NON_STRICT), exc.message
    except Tolerated as exc:
        return Outcome.NON_STRICT, exc.message
    except Unimplemented as exc:
        return Outcome.UNIMPLEMENTED, exc.message
    except Info as exc:
        return Outcome.INFORMATIONAL, exc.message
    except Undecided as exc:
        return Outcome.ERROR, exc.message


async def _case(sc: Scenario, driver: Driver, index: ClauseIndex, entries: list[Any]) -> CaseResult:
    level = index.level_of(sc.clauses) or Level.MUST
    run, problem, events, duration = await _play(sc, driver)
    if run is None:
        outcome, message = Outcome.ERROR, problem or "the scenario could not be set up"
    else:
        outcome, message = _outcome(sc, run, index, level)
    case = CaseResult(sc.id, sc.title, PROFILE, level, list(sc.clauses), outcome, message, duration, events)
    failed = outcome in (Outcome.FAIL, Outcome.ERROR)
    case.expected_failure, mismatch = expectation(entries, sc.id, None, message, failed=failed)
    if mismatch:
        case.message = f"{message} ({mismatch})"
    return case


async def arun_client_suite(
    command: str | Sequence[str],
    *,
    only: Iterable[str] | None = None,
    expected_failures: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    progress: Progress | None = None,
    label: str | None = None,
    persistent: bool = False,
) -> Report:
    """Certify the client that `command` drives; one case per scenario."""
    argv = _argv(command)
    scenarios = select_scenarios(only)
    index = ClauseIndex.load(clause_index_path())
    entries = load_expected_failures(expected_failures, SCENARIOS) if expected_failures is not None else []
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    base_env = dict(os.environ if env is None else env)
    results: list[CaseResult] = []
    driver = Driver(argv, base_env, cwd, persistent)
    try:
        for n, sc in enumerate(scenarios, 1):
            results.append(await _case(sc, driver, index, entries))
            if progress is not None:
                progress(results[-1], n, len(scenarios))
    finally:
        await driver.aclose()
    frozen = FROZEN["client"]["checks"]
    ran = {c.id for c in results}
    for case in results:
        case.counted = case.id in frozen
        if case.outcome in (Outcome.FAIL, Outcome.NON_STRICT, Outcome.ERROR):
            flags = " --persistent" if persistent else ""
            case.rerun = (
                f"openenv-conformance serve-client --command {shlex.quote(shlex.join(argv))}{flags} --check {case.id}"
            )
    sets = {
        "client": {
            "name": str(FROZEN["client"]["name"]),
            "counted": sum(cid in ran for cid in frozen),
            "missing": sorted(cid for cid in frozen if cid in SCENARIOS and cid not in ran),
        }
    }
    return Report(
        target="command:" + (label or shlex.join(argv)),
        harness_version=__version__,
        started_at=started,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seed=0,
        profiles=[PROFILE],
        cases=results,
        profile_durations_ms={PROFILE: sum(c.duration_ms for c in results)},
        duration_ms=(time.monotonic() - t0) * 1000.0,
        clause_index=str(index.path) if index.path else None,
        notes=["client certification: the harness played scripted servers; the target is the client command"],
        requirement_sets=sets,
    )


def run_client_suite(command: str | Sequence[str], **kwargs: Any) -> Report:
    """Synchronous `arun_client_suite`."""
    return asyncio.run(arun_client_suite(command, **kwargs))
