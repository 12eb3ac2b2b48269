"""Client scenarios: what the scripted server plays, what the client under test is asked to do,
and how the outcome is judged.

Contract: each `Scenario` has a stable id (`client.<name>`), the client clauses it tests, a `plan`
(the operations the driver performs, in order: see `clientcert/__init__.py` for the driver
protocol), a `play` coroutine the scripted server runs on every connection, server options
(whether it selects `openenv.v1`, how many upgrades it refuses) and a `judge` that reads the
driver's result lines and the server's records and raises a verdict (`Fail`, `Tolerated`,
`Unimplemented`, `Undecided`) or returns an optional note (PASS). Judges look only at what the
client reported and what it sent; they never trust the client's own verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from openenv_conformance.clientcert.scripted import V1, ClientGone, Play, ScriptedServer, Session
from openenv_conformance.verdicts import Fail, Tolerated, Unimplemented

Op = dict[str, Any]
Result = dict[str, Any]


@dataclass(slots=True)
class ScenarioRun:
    """Everything a judge reads: the plan, the driver's results and the server's records."""

    plan: list[Op]
    results: list[Result]
    server: ScriptedServer
    exit_code: int | None
    """None when the driver was killed for running past the scenario's limit."""
    stderr_tail: str

    def result(self, n: int) -> Result:
        """The result of the n-th operation, or FAIL saying why there is none."""
        if n < len(self.results):
            return self.results[n]
        op = self.plan[n].get("op") if n < len(self.plan) else "?"
        why = "was killed after running past the scenario's time limit (hung)" if self.exit_code is None else (
            f"exited with status {self.exit_code}"
        )  # fmt: skip
        tail = f"; stderr: {self.stderr_tail[-300:]}" if self.stderr_tail.strip() else ""
        raise Fail(f"the client reported nothing for operation {n + 1} ({op}): it {why}{tail}")

    def ok(self, n: int, what: str) -> Result:
        res = self.result(n)
        if not res.get("ok"):
            raise Fail(f"{what}: the client reported {describe(res)}")
        return res

    def failed(self, n: int, what: str) -> Result:
        res = self.result(n)
        if res.get("ok"):
            raise Fail(f"{what}: the client reported success ({_short(res)})")
        return res

    @property
    def v1_offered(self) -> bool:
        return any(V1 in p.offered for p in self.server.peers)

    def connections(self) -> int:
        return len(self.server.peers)


def describe(res: Result) -> str:
    if res.get("ok"):
        return f"success ({_short(res)})"
    code = f" {res['code']}" if res.get("code") else ""
    status = f" (HTTP {res['status']})" if res.get("status") else ""
    return f"error '{res.get('error')}'{code}{status}: {str(res.get('message', ''))[:160]}"


def _short(res: Result) -> str:
    text = repr({k: v for k, v in res.items() if k != "ok"})
    return text if len(text) <= 200 else text[:200] + "…"


Judge = Callable[[ScenarioRun], str | None]


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    clauses: tuple[str, ...]
    plan: tuple[Op, ...]
    play: Play
    judge: Judge
    offer_v1: bool = True
    refuse: int = 0
    retry_after_s: float = 1.0
    timeout_s: float = 2.0
    """The reply timeout the driver gives its client."""
    limit_s: float = 30.0
    """How long the driver may run before it is killed and the scenario is FAIL (hung)."""
    v1_only: bool = False
    """UNIMPLEMENTED when the client does not offer `openenv.v1`."""
    options: dict[str, Any] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    sid: str, title: str, clauses: tuple[str, ...], plan: list[Op], **kwargs: Any
) -> Callable[[Callable[[Session], Awaitable[None]]], Callable[[Session], Awaitable[None]]]:
    """Register a scenario whose `play` is the decorated coroutine; `judge=` is required."""

    def register(play: Callable[[Session], Awaitable[None]]) -> Callable[[Session], Awaitable[None]]:
        if sid in SCENARIOS:
            raise ValueError(f"duplicate scenario {sid!r}")
        SCENARIOS[sid] = Scenario(sid, title, clauses, tuple(plan), play, **kwargs)
        return play

    return register


CONNECT: Op = {"op": "connect"}
RESET: Op = {"op": "reset"}
CLOSE: Op = {"op": "close"}


def step(n: int) -> Op:
    return {"op": "step", "action": {"n": n}}


def _echo(res: Result) -> Any:
    obs = res.get("observation")
    return obs.get("echo") if isinstance(obs, dict) else None


def _text_frames_only(run: ScenarioRun) -> None:
    bad = [f"connection {p.index + 1}: {e}" for p in run.server.peers for e in p.bad_frames()]
    if bad:
        raise Fail(f"the client sent a frame that is not one JSON object in a text message: {bad[0]}",
                   clauses=("OE-WS-004", "OE-LEG-005"))  # fmt: skip


def _no_new_connection(run: ScenarioRun, allowed: int, after: str) -> None:
    if run.connections() > allowed:
        raise Fail(
            f"the client opened {run.connections()} connections where the plan asked for {allowed}: after "
            f"{after} it silently started a new session (OE-GEN-003)",
            clauses=("OE-GEN-003",),
        )


# -- 1. round trip, unknown members, metadata layouts ------------------------------------------------
async def _play_basic(s: Session) -> None:
    await s.hello()
    req = await s.recv()
    reset = s.observation(req, {"tick": 0, "metadata": {}}, x_future={"nested": [1, 2]})
    await s.send(reset)
    req = await s.recv()
    n = (req.get("data") or {}).get("n")
    frame = s.observation(req, {"echo": n}, reward=float(n) if isinstance(n, int) else 0.0, metadata={"k": 1})
    frame["data"]["x_extra"] = "ignored"
    frame["x_top"] = True
    s.step_count += 1
    await s.send(frame)
    req = await s.recv()
    state = s._frame("state", {"episode_id": s.episode_id, "step_count": s.step_count, "x_more": {"a": 1}}, req)
    await s.send(state)


def _judge_basic(run: ScenarioRun) -> str | None:
    _text_frames_only(run)
    for n, what in ((0, "connect"), (1, "reset"), (2, "step"), (3, "state")):
        run.ok(n, what)
    res = run.result(2)
    if _echo(res) != 3 or res.get("reward") != 3:
        raise Fail(f"step: expected observation echo 3 and reward 3, the client reported {_short(res)}")
    if res.get("done") is not False:
        raise Fail(f"step: done is false on the wire, the client reported {res.get('done')!r}")
    state = run.result(3).get("state")
    if not isinstance(state, dict) or state.get("step_count") != 1:
        raise Fail(f"state: expected step_count 1, the client reported {state!r}")
    return None


scenario(
    "client.basic",
    "reset/step/state round trip with unknown members and both metadata layouts",
    ("OE-WS-004", "OE-LEG-005", "OE-GEN-017", "OE-LEG-004", "OE-LEG-008"),
    [CONNECT, RESET, step(3), {"op": "state"}, CLOSE],
    judge=_judge_basic,
)(_play_basic)


# -- 2. pipelining -------------------------------------------------------------------------------------
async def _play_pipelined(s: Session) -> None:
    await s.hello()
    await s.answer(await s.recv())
    queue = [await s.recv()]
    with contextlib.suppress(ClientGone):  # requests sent before the first reply: pipelining
        while len(queue) < 4:
            queue.append(await s.recv(timeout_s=0.2))
    s.peer.notes["pipelined"] = len(queue)
    for n in range(4):
        req = queue[n] if n < len(queue) else await s.recv()
        await asyncio.sleep(0.05)
        await s.answer(req)


def _judge_pipelined(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    res = run.result(2)
    results = res.get("results")
    if not isinstance(results, list) or len(results) != 4:
        raise Fail(f"concurrent steps: expected 4 results, the client reported {_short(res)}")
    for n, item in enumerate(results, 1):
        if not item.get("ok"):
            raise Fail(f"concurrent step {n}: the client reported {describe(item)}")
        if _echo(item) != n:
            raise Fail(f"concurrent step {n}: the client returned the reply to step {_echo(item)} (OE-WS-025)")
    steps = [f for p in run.server.peers for f in p.requests("step")]
    ids = [f["id"] for f in steps if "id" in f]
    for rid in ids:
        if not (isinstance(rid, str) and 1 <= len(rid) <= 128) and not (
            isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= 2**53 - 1
        ):
            raise Fail(f"request id {rid!r} is not a 1-128 character string or an integer 0..2^53-1",
                       clauses=("OE-V1-020",))  # fmt: skip
    if len(set(map(repr, ids))) != len(ids):
        raise Tolerated(f"requests outstanding together share an id: {ids} (OE-V1-020)")
    _no_new_connection(run, 1, "the concurrent steps")
    ahead = run.server.peers[0].notes.get("pipelined", 1)
    return f"{ahead} requests sent before the first reply" if ahead > 1 else "requests serialised by the client"


scenario(
    "client.pipelining",
    "concurrent requests get their own replies (answered in order, 50 ms apart)",
    ("OE-WS-025", "OE-V1-020"),
    [CONNECT, RESET, {"op": "concurrent", "ops": [step(1), step(2), step(3), step(4)]}, CLOSE],
    judge=_judge_pipelined,
)(_play_pipelined)


# -- 3. a late reply after the client's timeout ---------------------------------------------------------
async def _play_late(s: Session) -> None:
    await s.hello()
    await s.answer(await s.recv())  # reset
    req = await s.recv()  # step 1: answered after the client gave up
    await asyncio.sleep(1.2)
    await s.answer(req)


def _judge_late(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    first = run.result(2)
    if first.get("ok"):
        raise Fail(f"step 1 was answered after 1.2 s with a 0.5 s timeout, yet the client reported {_short(first)}",
                   clauses=("OE-WS-032",))  # fmt: skip
    for n in (3, 4):
        res = run.result(n)
        if res.get("ok") and _echo(res) != n - 1:
            raise Fail(
                f"step {n - 1} after the timed-out step 1: the client returned the reply to step {_echo(res)} "
                "(the late reply was paired with a later request)"
            )
    if run.result(3).get("ok") and run.connections() == 1:
        return "the client discarded the late reply and kept the session"
    return "the client gave the session up after the timeout"


scenario(
    "client.timeout.late_reply",
    "a reply that arrives after the client's timeout is never paired with a later request",
    ("OE-WS-032", "OE-WS-025"),
    [CONNECT, RESET, step(1), step(2), step(3), CLOSE],
    judge=_judge_late,
    timeout_s=0.5,
)(_play_late)


# -- 4. error codes ------------------------------------------------------------------------------------
ERROR_CODES = ("VALIDATION_ERROR", "EXECUTION_ERROR", "UNKNOWN_TYPE", "INVALID_JSON", "X_FUTURE_CODE")


async def _play_errors(s: Session) -> None:
    await s.hello()
    await s.answer(await s.recv())
    for code in ERROR_CODES:
        req = await s.recv()
        # the message deliberately names another code: clients dispatch on `code` (OE-ERR-003)
        await s.send(s.error(req, code, "Server at capacity (text is informative only)", x_detail=1))


def _judge_errors(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    for n, code in enumerate(ERROR_CODES):
        res = run.failed(2 + n, f"step answered with {code}")
        if res.get("error") != "remote" or res.get("code") != code:
            clause = ("OE-ERR-004",) if code == "X_FUTURE_CODE" else ("OE-ERR-003",)
            raise Fail(f"an error frame with code {code} (session kept open): the client reported {describe(res)}",
                       clauses=clause)  # fmt: skip
    last = run.result(2 + len(ERROR_CODES))
    if not last.get("ok") or _echo(last) != 9:
        raise Fail(f"the session stayed open after the errors, but the next step gave {describe(last)}",
                   clauses=("OE-ERR-004",))  # fmt: skip
    _no_new_connection(run, 1, "the error replies")
    return None


scenario(
    "client.errors.codes",
    "every error code that keeps the session open, and an unknown one, dispatched on code",
    ("OE-ERR-003", "OE-ERR-004"),
    [CONNECT, RESET, *[step(10 + n) for n in range(len(ERROR_CODES))], step(9), CLOSE],
    judge=_judge_errors,
)(_play_errors)


# -- 5. close codes mid-step ---------------------------------------------------------------------------
CLOSE_VARIANTS: tuple[tuple[str | None, int | None], ...] = (
    ("SESSION_ERROR", 1000),  # 0.10's legacy close after an error
    ("FACTORY_ERROR", 1011),
    (None, 1001),  # no error frame (OE-LEG-002)
    ("SESSION_ERROR", 1008),
    (None, None),  # TCP dropped without a closing handshake
)


async def _play_close_codes(s: Session) -> None:
    code, close = CLOSE_VARIANTS[min(s.peer.index, len(CLOSE_VARIANTS) - 1)]
    await s.hello()
    await s.answer(await s.recv())  # reset
    req = await s.recv()  # the step that is cut off
    if code is not None:
        await s.send(s.error(req, code, "session ended by the scripted server"))
    if close is None:
        s.abort()
    else:
        await s.close(close, "scripted close")


def _close_plan() -> list[Op]:
    plan: list[Op] = []
    for _ in CLOSE_VARIANTS:
        plan += [CONNECT, RESET, step(1), step(2)]
    return [*plan, CLOSE]


def _judge_close_codes(run: ScenarioRun) -> str | None:
    for n, (code, close) in enumerate(CLOSE_VARIANTS):
        base = 4 * n
        label = f"{code or 'no error frame'} then {'close ' + str(close) if close else 'a dropped TCP connection'}"
        run.ok(base, f"connect #{n + 1}")
        run.ok(base + 1, f"reset on connection #{n + 1}")
        res = run.failed(base + 2, f"step cut off by {label}")
        if code is not None and res.get("code") != code:
            raise Fail(f"step cut off by {label}: the client reported {describe(res)}, not {code}",
                       clauses=("OE-LEG-002",))  # fmt: skip
        after = run.result(base + 3)
        if after.get("ok"):
            raise Fail(f"the step after {label} succeeded ({_short(after)}): the session was silently re-created",
                       clauses=("OE-GEN-003",))  # fmt: skip
    _no_new_connection(run, len(CLOSE_VARIANTS), "a closed session")
    return None


scenario(
    "client.close.codes",
    "a server that ends the session mid-step with each close code, and with a dropped connection",
    ("OE-LEG-002", "OE-GEN-003"),
    _close_plan(),
    judge=_judge_close_codes,
    limit_s=45.0,
)(_play_close_codes)


# -- 6. no silent re-creation between requests ---------------------------------------------------------
async def _play_gone(s: Session) -> None:
    await s.hello()
    if s.peer.index > 0:
        return  # a connection the client should never have opened: serve it normally
    await s.answer(await s.recv())  # reset
    await s.answer(await s.recv())  # step 1
    await asyncio.sleep(0.1)
    await s.close(1001, "going away")


def _judge_gone(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    run.ok(2, "step 1")
    res = run.result(4)
    if res.get("ok") or run.connections() > 1:
        raise Fail(
            "the server closed the session (1001) between steps; the client "
            + ("opened a new connection and " if run.connections() > 1 else "")
            + f"reported {describe(res)} for the next step instead of surfacing the lost session",
            clauses=("OE-GEN-003",),
        )
    return f"reported {describe(res)}"


scenario(
    "client.reconnect.no_silent",
    "a session closed between steps is reported lost, never silently re-created",
    ("OE-GEN-003",),
    [CONNECT, RESET, step(1), {"op": "sleep", "s": 0.5}, step(2), CLOSE],
    judge=_judge_gone,
)(_play_gone)


# -- 7. slow and fragmented replies --------------------------------------------------------------------
async def _play_slow(s: Session) -> None:
    await s.hello()
    req = await s.recv()  # reset: one frame, late
    await asyncio.sleep(1.0)
    await s.answer(req)
    req = await s.recv()  # step: 20 fragments, 40 ms apart
    n = (req.get("data") or {}).get("n")
    frame = s.observation(req, {"echo": n, "pad": "x" * 2000}, reward=1.0)
    await s.send_fragments(json.dumps(frame), 20, 0.04)


def _judge_slow(run: ScenarioRun) -> str | None:
    run.ok(1, "reset answered after 1 s (timeout 5 s)")
    res = run.ok(2, "step answered in 20 fragments over 0.8 s")
    obs = res.get("observation") or {}
    if _echo(res) != 7 or len(str(obs.get("pad", ""))) != 2000:
        raise Fail(f"the fragmented reply was not reassembled: {_short(res)}")
    return None


scenario(
    "client.slow_fragmented",
    "a late reply and a reply split into 20 slow WebSocket fragments",
    ("OE-WS-033",),
    [CONNECT, RESET, step(7), CLOSE],
    judge=_judge_slow,
    timeout_s=5.0,
)(_play_slow)


# -- 8. capacity refusal before the upgrade --------------------------------------------------------------
async def _play_serve(s: Session) -> None:
    await s.hello()


def _judge_refused(run: ScenarioRun) -> str | None:
    res = run.result(0)
    refusal = run.server.refusals[0] if run.server.refusals else None
    if refusal is None:
        raise Fail("the scripted server refused no upgrade (the client never connected)")
    if res.get("ok"):
        peer = run.server.peers[0]
        waited = peer.opened_at - run.server.refusals[-1].t
        if len(run.server.refusals) > 1 or peer.opened_at - refusal.t < 0.9 * refusal.retry_after_s:
            raise Tolerated(
                f"the client retried {len(run.server.refusals)} time(s) within {waited:.2f}s, before the "
                f"Retry-After delay of {refusal.retry_after_s:g}s (OE-LEG-003 SHOULD)"
            )
        run.ok(1, "reset after the retry")
        return f"retried after {peer.opened_at - refusal.t:.2f}s"
    if res.get("code") == "CAPACITY_REACHED" or res.get("status") == 503:
        return "reported the refusal as capacity"
    raise Fail(f"HTTP 503 with CAPACITY_REACHED and Retry-After: the client reported {describe(res)}")


scenario(
    "client.capacity.refused",
    "an upgrade refused with HTTP 503, CAPACITY_REACHED and Retry-After",
    ("OE-LEG-003",),
    [CONNECT, RESET, CLOSE],
    judge=_judge_refused,
    refuse=1,
    retry_after_s=1.0,
)(_play_serve)


async def _play_capacity_after(s: Session) -> None:
    msg = "Server at capacity: 1/1 sessions active."
    await s.send({"type": "error", "data": {"message": msg, "code": "CAPACITY_REACHED"}})
    await s.close(1000)


def _judge_capacity_after(run: ScenarioRun) -> str | None:
    connect, reset = run.result(0), run.result(2)
    reported = reset if connect.get("ok") else connect
    if reported.get("ok"):
        raise Fail(f"a CAPACITY_REACHED frame and close 1000 after the upgrade: the client reported {_short(reported)}")
    if reported.get("code") != "CAPACITY_REACHED":
        raise Fail(
            f"a CAPACITY_REACHED frame and close 1000 after the upgrade: the client reported {describe(reported)}"
        )
    return None


scenario(
    "client.capacity.after_upgrade",
    "a base-level server that refuses capacity after the upgrade (error frame, close 1000)",
    ("OE-LEG-003", "OE-LEG-002"),
    [CONNECT, {"op": "sleep", "s": 0.3}, RESET, CLOSE],
    judge=_judge_capacity_after,
    offer_v1=False,
    options={"max_connections": 1},
)(_play_capacity_after)


# -- 9. large replies within the advertised limit (v1) ---------------------------------------------------
LARGE = 3 * 1024 * 1024


async def _play_large(s: Session) -> None:
    await s.hello({"max_message_bytes": 8 * 1024 * 1024, "step_timeout_s": 30.0, "idle_timeout_s": 300.0,
                   "max_sessions": 8})  # fmt: skip
    await s.answer(await s.recv())
    req = await s.recv()
    await s.send(s.observation(req, {"echo": 5, "blob": "y" * LARGE}, reward=0.0))


def _judge_large(run: ScenarioRun) -> str | None:
    if not run.v1_offered:
        raise Unimplemented("the client does not offer openenv.v1")
    run.ok(1, "reset")
    res = run.ok(2, f"a {LARGE // (1024 * 1024)} MiB reply within max_message_bytes 8 MiB")
    if len(str((res.get("observation") or {}).get("blob", ""))) != LARGE:
        raise Fail(f"the large reply arrived cut: {_short(res)}")
    return None


scenario(
    "client.large_reply",
    "a 3 MiB reply on a session whose hello advertises max_message_bytes 8 MiB",
    ("OE-LIM-003",),
    [CONNECT, RESET, step(5), CLOSE],
    judge=_judge_large,
    v1_only=True,
    timeout_s=10.0,
)(_play_large)


# -- 10. unknown server frames (v1) -----------------------------------------------------------------------
async def _play_unknown(s: Session) -> None:
    await s.hello()
    await s.answer(await s.recv())
    for _ in range(2):
        req = await s.recv()
        await s.send({"type": "x-progress", "data": {"pct": 50}})
        await s.answer(req)


def _judge_unknown(run: ScenarioRun) -> str | None:
    if not run.v1_offered:
        raise Unimplemented("the client does not offer openenv.v1")
    run.ok(1, "reset")
    for n in (2, 3):
        res = run.ok(n, "a step whose reply follows an unknown frame type without id")
        if _echo(res) != n - 1:
            raise Fail(f"step {n - 1}: the client returned {_short(res)}")
    return None


scenario(
    "client.unknown_frame",
    "a server frame of an unknown type without id before each reply (v1)",
    ("OE-WS-026",),
    [CONNECT, RESET, step(1), step(2), CLOSE],
    judge=_judge_unknown,
    v1_only=True,
)(_play_unknown)


# -- 11. v1 without a hello ------------------------------------------------------------------------------
async def _play_no_hello(s: Session) -> None:
    if not s.v1:
        return
    await s.send({"type": "state", "data": {"episode_id": "ep-0", "step_count": 0}})
    req = await s.recv()
    await s.answer(req)


def _judge_no_hello(run: ScenarioRun) -> str | None:
    if not run.v1_offered:
        raise Unimplemented("the client does not offer openenv.v1")
    connect, reset = run.result(0), run.result(1)
    if connect.get("ok") and reset.get("ok"):
        raise Fail("the server selected openenv.v1 and sent a state frame instead of the session hello; the "
                   "client carried on as if nothing was wrong")  # fmt: skip
    return f"reported {describe(reset if connect.get('ok') else connect)}"


scenario(
    "client.v1.no_hello",
    "a v1 connection whose first frame is not the session hello is a protocol error",
    ("OE-V1-012",),
    [CONNECT, RESET, CLOSE],
    judge=_judge_no_hello,
    v1_only=True,
)(_play_no_hello)


# -- 12. v1 offered, not selected ----------------------------------------------------------------------
async def _play_fallback(s: Session) -> None:
    pass


def _judge_fallback(run: ScenarioRun) -> str | None:
    if not run.v1_offered:
        raise Unimplemented("the client does not offer openenv.v1")
    with_ids = [f for p in run.server.peers for f in p.requests() if "id" in f]
    if with_ids:
        raise Fail(f"the server selected no subprotocol, yet the client sent v1 request ids: {with_ids[0]}")
    peer = run.server.peers[0]
    if not run.result(1).get("ok"):
        if peer.client_close_code == 1002:
            return "closed with 1002"
        raise Fail(f"a base-level session after offering v1: reset gave {describe(run.result(1))} and the client "
                   "did not close with 1002")  # fmt: skip
    for n, what in ((2, "step"), (3, "state")):
        run.ok(n, what)
    if run.result(2).get("terminated") not in (None, run.result(2).get("done")):
        raise Fail("at base level terminated mirrors done")
    return "spoke the base level"


scenario(
    "client.v1.fallback",
    "a client that offered openenv.v1 and got no subprotocol speaks the base level",
    ("OE-V1-005",),
    [CONNECT, RESET, step(1), {"op": "state"}, CLOSE],
    judge=_judge_fallback,
    offer_v1=False,
    v1_only=True,
)(_play_fallback)


# -- 13. legacy rewards (base) -------------------------------------------------------------------------
REWARDS: tuple[Any, ...] = (True, 2, False)


async def _play_rewards(s: Session) -> None:
    await s.answer(await s.recv())
    for reward in REWARDS:
        req = await s.recv()
        n = (req.get("data") or {}).get("n")
        await s.send({"type": "observation", "data": {"observation": {"echo": n}, "reward": reward, "done": False}})


def _judge_rewards(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    for n, wire in enumerate(REWARDS):
        res = run.ok(2 + n, f"a step with reward {wire!r} (base level)")
        got = res.get("reward")
        want = float(wire)
        if isinstance(got, bool) or not isinstance(got, int | float) or float(got) != want:
            raise Fail(f"reward {str(wire).lower()} on the wire: the client reported {got!r}, not {want:g}")
    return None


scenario(
    "client.legacy.rewards",
    "boolean and integer rewards on a base-level connection",
    ("OE-LEG-001",),
    [CONNECT, RESET, step(1), step(2), step(3), CLOSE],
    judge=_judge_rewards,
    offer_v1=False,
)(_play_rewards)


# -- 14. terminated / truncated (v1) ---------------------------------------------------------------------
async def _play_flags(s: Session) -> None:
    await s.hello()
    await s.answer(await s.recv())
    req = await s.recv()
    await s.send(s.observation(req, {"echo": 1}, reward=0.0, done=True, terminated=False, truncated=True))
    await s.answer(await s.recv())
    req = await s.recv()
    await s.send(s.observation(req, {"echo": 2}, reward=1.0, done=True, terminated=True, truncated=False))


def _judge_flags(run: ScenarioRun) -> str | None:
    if not run.v1_offered:
        raise Unimplemented("the client does not offer openenv.v1")
    for n, (term, trunc) in ((2, (False, True)), (4, (True, False))):
        res = run.ok(n, "a step that ends the episode")
        got = (res.get("done"), res.get("terminated"), res.get("truncated"))
        if got != (True, term, trunc):
            raise Fail(f"done/terminated/truncated on the wire were (true, {str(term).lower()}, "
                       f"{str(trunc).lower()}); the client reported {got}")  # fmt: skip
    return None


scenario(
    "client.v1.terminated_truncated",
    "terminated and truncated reported as the server sent them",
    ("OE-V1-033",),
    [CONNECT, RESET, step(1), RESET, step(2), CLOSE],
    judge=_judge_flags,
    v1_only=True,
)(_play_flags)


# -- 15. closing cleanly ---------------------------------------------------------------------------------
def _judge_clean_close(run: ScenarioRun) -> str | None:
    run.ok(1, "reset")
    run.result(2)
    peer = run.server.peers[0]
    if not peer.close_frame:
        raise Tolerated('the client ended the session without sending {"type":"close"}')
    if peer.client_close_code is None:
        raise Tolerated("the client dropped the connection before the closing handshake finished")
    return None


scenario(
    "client.close.clean",
    'ending a session sends {"type":"close"} and finishes the closing handshake',
    ("OE-WS-017",),
    [CONNECT, RESET, CLOSE],
    judge=_judge_clean_close,
)(_play_serve)


# -- 16. rollout runners (spec/rollouts.md) ---------------------------------------------------------------
def rollout(episodes: int, concurrency: int, max_steps: int, episode_timeout_s: float) -> Op:
    return {"op": "rollout", "episodes": episodes, "concurrency": concurrency, "max_steps": max_steps,
            "episode_timeout_s": episode_timeout_s}  # fmt: skip


def _start_episode(s: Session, request: dict[str, Any]) -> dict[str, Any]:
    """Record an episode started by `request` (a reset) as the batch's next one, in arrival order."""
    order = s.server.shared.get("resets", 0)
    s.server.shared["resets"] = order + 1
    episode = {"order": order, "steps": 0, "after_done": 0, "done": False, "reset_t": s.server.now(), "last_t": 0.0}
    s.peer.notes.setdefault("episodes", []).append(episode)
    return episode


def _action_n(request: dict[str, Any]) -> Any:
    """The `n` of a step request's action (None when there is none)."""
    data = request.get("data")
    return data.get("n") if isinstance(data, dict) else None


def _rollout_batch(run: ScenarioRun, size: int) -> tuple[list[Result], list[dict[str, Any]]]:
    """The runner's per-episode reports and the episodes the server saw (UNIMPLEMENTED without a runner)."""
    res = run.result(0)
    if not res.get("ok") and (res.get("error") == "unsupported" or "unknown op" in str(res.get("message", ""))):
        raise Unimplemented("the client library has no rollout runner")
    if not res.get("ok"):
        raise Fail(f"the batch was lost as a whole: the runner reported {describe(res)}", clauses=("OE-ROL-005",))
    reported = res.get("episodes")
    if not isinstance(reported, list) or len(reported) != size:
        count = len(reported) if isinstance(reported, list) else "no"
        raise Fail(f"the runner reported {count} episodes for a batch of {size}", clauses=("OE-ROL-005",))
    _text_frames_only(run)
    for peer in run.server.peers:
        kinds = [r.get("type") for r in peer.requests() if r.get("type") in ("reset", "step")]
        if kinds and kinds[0] != "reset":
            raise Fail(f"connection {peer.index + 1} began with a step, not a reset", clauses=("OE-ROL-001",))
    seen = sorted((e for p in run.server.peers for e in p.notes.get("episodes", [])), key=lambda e: e["order"])
    return [r if isinstance(r, dict) else {} for r in reported], seen


def _unclosed(run: ScenarioRun) -> None:
    left = [p.index + 1 for p in run.server.peers if p.client_close_code is None and not p.notes.get("aborted")]
    if left:
        raise Fail(f"the runner left connection(s) {left} without a WebSocket Close frame", clauses=("OE-ROL-004",))


BATCH_LENGTHS: tuple[int | None, ...] = (1, 2, 3, None, 2)
"""Steps until `done` for the episodes of `client.rollout.batch`, in the order their resets arrive
(None: never done; the runner's step bound of 4 cuts it short). Step k of an episode earns 0.5 k."""
BATCH_CONCURRENCY = 2
BATCH_MAX_STEPS = 4


async def _play_episodes(
    s: Session, on_step: Callable[[Session, dict[str, Any], dict[str, Any]], Awaitable[bool]]
) -> None:
    """Answer resets as new episodes of the batch and hand each step of an episode to `on_step`
    (it answers it; False ends the script); anything else gets the default answer."""
    await s.hello()
    episode: dict[str, Any] | None = None
    while True:
        req = await s.recv()
        kind = req.get("type")
        if kind == "reset":
            episode = _start_episode(s, req)
            await s.send(s.observation(req, {"tick": 0}))
            episode["last_t"] = s.server.now()
        elif kind == "step" and episode is not None:
            episode["steps"] += 1
            if not await on_step(s, req, episode):
                return
            episode["last_t"] = s.server.now()
        else:
            await s.answer(req)


async def _batch_step(s: Session, req: dict[str, Any], episode: dict[str, Any]) -> bool:
    if episode["done"]:
        episode["after_done"] += 1
    length = BATCH_LENGTHS[episode["order"] % len(BATCH_LENGTHS)]
    episode["done"] = episode["done"] or episode["steps"] == length
    await s.send(s.observation(req, {"echo": _action_n(req)}, reward=0.5 * episode["steps"], done=episode["done"]))
    return True


async def _play_batch(s: Session) -> None:
    await _play_episodes(s, _batch_step)


def _judge_batch(run: ScenarioRun) -> str | None:
    reported, seen = _rollout_batch(run, len(BATCH_LENGTHS))
    if len(seen) != len(BATCH_LENGTHS):
        raise Fail(f"the server saw {len(seen)} resets for a batch of {len(BATCH_LENGTHS)} episodes",
                   clauses=("OE-ROL-001",))  # fmt: skip
    late = [e["order"] + 1 for e in seen if e["after_done"]]
    if late:
        raise Fail(f"the runner stepped episode(s) {late} after the server said done", clauses=("OE-ROL-002",))
    busiest = max(sum(1 for o in seen if o["reset_t"] <= e["reset_t"] <= o["last_t"]) for e in seen)
    if busiest > BATCH_CONCURRENCY:
        raise Fail(f"{busiest} episodes ran at once with a concurrency bound of {BATCH_CONCURRENCY}",
                   clauses=("OE-ROL-003",))  # fmt: skip
    _unclosed(run)
    failed = [
        f"episode {n + 1}: {r.get('error')}: {r.get('message')}" for n, r in enumerate(reported) if not r.get("ok")
    ]
    if failed:
        raise Fail(f"episodes that ended normally were reported failed ({failed[0]})", clauses=("OE-ROL-005",))
    want = sorted((min(BATCH_LENGTHS[e["order"]] or BATCH_MAX_STEPS, BATCH_MAX_STEPS),
                   BATCH_LENGTHS[e["order"]] is None) for e in seen)  # fmt: skip
    got = sorted((r.get("steps"), r.get("truncated_by") == "client") for r in reported)
    if got != want:
        raise Fail(f"(steps, cut short by the runner) per episode: the server played {want}, the runner reported {got}",
                   clauses=("OE-ROL-006",))  # fmt: skip
    for n, r in enumerate(reported):
        raw_steps = r.get("steps")
        steps = raw_steps if isinstance(raw_steps, int) else 0
        if r.get("rewards") != [0.5 * k for k in range(1, steps + 1)]:
            raise Fail(f"episode {n + 1}: rewards {r.get('rewards')!r} are not the ones the server sent",
                       clauses=("OE-ROL-006",))  # fmt: skip
        if r.get("truncated_by") == "client" and (r.get("terminated") or not r.get("truncated")):
            flags = f"terminated={r.get('terminated')!r}, truncated={r.get('truncated')!r}"
            raise Fail(f"episode {n + 1}, cut short by the step bound, was reported {flags}", clauses=("OE-ROL-006",))
        if r.get("truncated_by") != "client" and r.get("truncated_by") is not None:
            raise Fail(f"episode {n + 1}, ended by the server, was reported truncated by {r.get('truncated_by')!r}",
                       clauses=("OE-ROL-006",))  # fmt: skip
    return f"{len(seen)} episodes on {run.connections()} connection(s), at most {busiest} at once"


scenario(
    "client.rollout.batch",
    "a rollout runner starts each episode with a reset, stops at done or its step bound, keeps its "
    "concurrency bound, closes its sessions and reports each episode as played",
    ("OE-ROL-001", "OE-ROL-002", "OE-ROL-003", "OE-ROL-004", "OE-ROL-006"),
    [rollout(len(BATCH_LENGTHS), BATCH_CONCURRENCY, BATCH_MAX_STEPS, 10.0)],
    judge=_judge_batch,
)(_play_batch)


FAILURES = ("ok", "lost", "timeout", "remote")
"""How the episodes of `client.rollout.failures` go, in the order their resets arrive: done after two
steps; the connection dropped at the second step; the first step never answered (past the
episode's 1.5 s bound); an EXECUTION_ERROR error frame for the first step."""
FAILURE_TIMEOUT_S = 1.5


async def _failure_step(s: Session, req: dict[str, Any], episode: dict[str, Any]) -> bool:
    how = FAILURES[episode["order"] % len(FAILURES)]
    if how == "lost" and episode["steps"] == 2:
        s.peer.notes["aborted"] = True
        s.abort()
        return False
    if how == "timeout":
        await s.recv(timeout_s=FAILURE_TIMEOUT_S * 6)  # the runner gives up and closes
        return False
    if how == "remote":
        await s.send(s.error(req, "EXECUTION_ERROR", "the environment failed"))
        return True
    done = how == "ok" and episode["steps"] == 2
    await s.send(s.observation(req, {"echo": _action_n(req)}, reward=1.0, done=done))
    return True


async def _play_failures(s: Session) -> None:
    await _play_episodes(s, _failure_step)


def _judge_failures(run: ScenarioRun) -> str | None:
    reported, seen = _rollout_batch(run, len(FAILURES))
    if len(seen) != len(FAILURES):
        raise Fail(f"the server saw {len(seen)} resets for a batch of {len(FAILURES)}: a failed episode was run "
                   "again behind the trainer's back", clauses=("OE-ROL-005", "OE-GEN-003"))  # fmt: skip
    want = {"ok": (True, None, 2), "lost": (False, "lost", 1), "timeout": (False, "timeout", 0),
            "remote": (False, "remote", 0)}  # fmt: skip
    for n, (how, r) in enumerate(zip(FAILURES, reported, strict=True)):
        got = (bool(r.get("ok")), r.get("error"), r.get("steps"))
        if got != want[how]:
            raise Fail(f"episode {n + 1} ({how}): expected (ok, error, steps) {want[how]}, the runner reported {got}",
                       clauses=("OE-ROL-005",))  # fmt: skip
    _unclosed(run)
    return "every failure reported with its episode; the rest of the batch kept"


scenario(
    "client.rollout.failures",
    "a rollout runner reports a lost, timed-out or failed episode with its cause, keeps the rest of "
    "the batch, never re-runs an episode on its own and closes what it opened",
    ("OE-ROL-004", "OE-ROL-005", "OE-GEN-003"),
    [rollout(len(FAILURES), 1, 5, FAILURE_TIMEOUT_S)],
    judge=_judge_failures,
    timeout_s=5.0,
)(_play_failures)
