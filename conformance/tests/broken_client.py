"""A small, real OpenEnv client speaking the driver protocol, with switchable faults.

Contract: `python broken_client.py [FAULT ...]` runs one client-certification plan (see
`conformance/drivers/driverlib.py`) with a raw `websockets` (sync) client written here. With no
faults it follows the spec at both levels and passes every client scenario; each fault in
`FAULTS` breaks exactly one behaviour, so the tests can check that the scenario meant to catch
it does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drivers"))

import contextlib
from concurrent.futures import ThreadPoolExecutor

from driverlib import Result, SyncAdapter, failure, load_plan, rollout_action, run_sync
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

V1 = "openenv.v1"
FAULTS = frozenset(
    {
        "binary_frames",  # requests go out as binary messages
        "strict_members",  # a reply with members the client does not know is rejected
        "swap_replies",  # pipelined replies are paired with requests newest-first
        "keep_after_timeout",  # after a timeout the connection is kept; the late reply is read next
        "unknown_code_fatal",  # an unknown error code ends the session
        "reconnect_silently",  # a lost session is replaced by a new connection behind the caller's back
        "impatient",  # every read gives up after 0.3 s, whatever the configured timeout
        "retry_immediately",  # a 503 refusal is retried at once, ignoring Retry-After
        "drop_last_words",  # an error frame followed by a close is reported as a plain lost session
        "small_max_size",  # replies over 1 MiB are refused (close 1009)
        "unknown_frame_fatal",  # an unknown frame type is a protocol error
        "no_hello_check",  # a v1 first frame other than the hello is accepted
        "v1_ids_always",  # request ids are sent even when the server selected no subprotocol
        "reward_passthrough",  # boolean rewards are reported as booleans
        "truncated_as_terminated",  # terminated mirrors done and truncated is always false
        "no_close_frame",  # the session ends without {"type":"close"}
        "rollout_step_after_done",  # the rollout runner sends one more step after done
        "rollout_replay_lost",  # the rollout runner runs an episode whose session was lost again, silently
    }
)
KNOWN_CODES = {
    "INVALID_JSON", "UNKNOWN_TYPE", "VALIDATION_ERROR", "EXECUTION_ERROR", "CAPACITY_REACHED", "FACTORY_ERROR",
    "SESSION_ERROR", "EPISODE_NOT_STARTED", "EPISODE_ENDED", "STEP_TIMEOUT", "MESSAGE_TOO_LARGE", "IDLE_TIMEOUT",
}  # fmt: skip
KNOWN_DATA = {"observation", "reward", "done", "terminated", "truncated", "metadata"}


class Failure(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.get("message"))
        self.result = result


class RawClient(SyncAdapter):
    def __init__(self, url: str, timeout_s: float, faults: set[str]) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://").rstrip("/") + "/ws"
        self.timeout_s = 0.3 if "impatient" in faults else timeout_s
        self.faults = faults
        self.ws: ClientConnection | None = None
        self.v1 = False
        self.lost = False
        self.next_id = 1

    # -- connection ------------------------------------------------------------------------------------
    def connect(self) -> Result:
        self._open()
        return {"ok": True}

    def _open(self) -> None:
        self.lost = False
        for attempt in range(4):
            try:
                ws = connect(
                    self.ws_url,
                    subprotocols=[V1],  # type: ignore[list-item]
                    open_timeout=5,
                    max_size=1024 * 1024 if "small_max_size" in self.faults else 64 * 1024 * 1024,
                    compression=None,
                    proxy=None,
                )
                break
            except InvalidStatus as exc:
                response = exc.response
                if response.status_code == 503 and "retry_immediately" in self.faults and attempt < 3:
                    continue
                code = None
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    code = json.loads(response.body or b"{}")["data"]["code"]
                kind = "remote" if code else "connect"
                raise Failure(failure(kind, exc, code=code, status=response.status_code)) from None
        self.ws, self.v1, self.next_id = ws, ws.subprotocol == V1, 1
        if self.v1:
            first = json.loads(ws.recv(timeout=self.timeout_s))
            if first.get("type") != "session" and "no_hello_check" not in self.faults:
                ws.close(1002)
                self.ws = None
                raise Failure({"ok": False, "error": "protocol", "message": f"first frame {first.get('type')!r}"})

    def _ready(self) -> ClientConnection:
        gone = self.ws is not None and self.ws.protocol.state.name in ("CLOSING", "CLOSED")
        if self.ws is None or self.lost or (gone and "reconnect_silently" in self.faults):
            if "reconnect_silently" in self.faults:
                self._open()
            elif self.lost:
                raise Failure({"ok": False, "error": "lost", "message": "the session was lost"})
            else:
                self._open()
        assert self.ws is not None
        return self.ws

    def _drop(self, kind: str, message: str, code: str | None = None) -> Failure:
        self.lost = True
        if self.ws is not None:
            self.ws.close()
        return Failure({"ok": False, "error": kind, "code": code, "message": message})

    # -- requests ---------------------------------------------------------------------------------------
    def _frame(self, kind: str, data: dict[str, Any] | None) -> str:
        frame: dict[str, Any] = {"type": kind}
        if data is not None:
            frame["data"] = data
        if self.v1 or "v1_ids_always" in self.faults:
            frame["id"] = self.next_id
            self.next_id += 1
        return json.dumps(frame)

    def _send(self, ws: ClientConnection, text: str) -> None:
        try:
            ws.send(text.encode() if "binary_frames" in self.faults else text)
        except ConnectionClosed as exc:
            if "drop_last_words" not in self.faults:  # an error frame sent before the close explains it
                try:
                    last = json.loads(ws.recv(timeout=0.1))
                except (ConnectionClosed, TimeoutError, ValueError):
                    last = {}
                if isinstance(last, dict) and last.get("type") == "error":
                    code = (last.get("data") or {}).get("code")
                    raise self._drop("remote", "error frame before the close", code) from None
            raise self._drop("lost", f"connection closed: {exc}") from None

    def _reply(self, ws: ClientConnection) -> dict[str, Any]:
        while True:
            try:
                raw = ws.recv(timeout=self.timeout_s)
            except TimeoutError:
                if "keep_after_timeout" in self.faults:
                    raise Failure({"ok": False, "error": "timeout", "message": "no reply"}) from None
                raise self._drop("timeout", "no reply within the timeout") from None
            except ConnectionClosed as exc:
                raise self._drop("lost", f"connection closed: {exc}") from None
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind in ("observation", "state", "error", "mcp"):
                return frame
            if self.v1 and "id" not in frame and "unknown_frame_fatal" not in self.faults:
                continue
            raise self._drop("protocol", f"unexpected frame {kind!r}")

    def _judge(self, ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
        data = frame.get("data") or {}
        if frame.get("type") == "error":
            code = data.get("code")
            if "drop_last_words" in self.faults:
                try:
                    ws.recv(timeout=0.1)
                except ConnectionClosed:
                    raise self._drop("lost", "connection closed") from None
                except TimeoutError:
                    pass
            if code not in KNOWN_CODES and "unknown_code_fatal" in self.faults:
                raise self._drop("protocol", f"unknown code {code}", code)
            raise Failure({"ok": False, "error": "remote", "code": code, "message": str(data.get("message"))})
        if "strict_members" in self.faults and set(data) - KNOWN_DATA - {"episode_id", "step_count"}:
            raise self._drop("protocol", f"unknown members {sorted(set(data) - KNOWN_DATA)}")
        return data

    def _observation(self, data: dict[str, Any]) -> Result:
        reward = data.get("reward")
        if isinstance(reward, bool) and "reward_passthrough" not in self.faults:
            reward = float(reward)
        done = data.get("done")
        if self.v1 and "truncated_as_terminated" not in self.faults:
            terminated, truncated = data.get("terminated"), data.get("truncated")
        else:
            terminated, truncated = done, False
        return {"ok": True, "observation": data.get("observation"), "reward": reward, "done": done,
                "terminated": terminated, "truncated": truncated}  # fmt: skip

    def _call(self, kind: str, data: dict[str, Any] | None) -> Result:
        try:
            ws = self._ready()
            self._send(ws, self._frame(kind, data))
            body = self._judge(ws, self._reply(ws))
        except Failure as exc:
            return exc.result
        return {"ok": True, "state": body} if kind == "state" else self._observation(body)

    def reset(self, data: dict[str, Any]) -> Result:
        return self._call("reset", data)

    def step(self, action: dict[str, Any]) -> Result:
        return self._call("step", action)

    def state(self) -> Result:
        return self._call("state", None)

    def steps_pipelined(self, actions: list[dict[str, Any]]) -> list[Result]:
        try:
            ws = self._ready()
            for action in actions:
                self._send(ws, self._frame("step", action))
            replies = [self._reply(ws) for _ in actions]
        except Failure as exc:
            return [exc.result for _ in actions]
        if "swap_replies" in self.faults:
            replies.reverse()
        out = []
        for reply in replies:
            try:
                out.append(self._observation(self._judge(ws, reply)))
            except Failure as exc:
                out.append(exc.result)
        return out

    def close(self) -> Result:
        if self.ws is not None:
            if "no_close_frame" not in self.faults:
                with contextlib.suppress(ConnectionClosed):
                    self.ws.send('{"type":"close"}')
            self.ws.close()
            self.ws = None
        return {"ok": True}

    # -- rollouts: one new client per episode, `concurrency` threads, replies bounded by the episode's bound --
    def rollout(self, op: dict[str, Any]) -> Result:
        max_steps, bound = int(op["max_steps"]), float(op["episode_timeout_s"])

        def one(_: int) -> Result:
            report = _episode(RawClient(self.url, bound, self.faults), max_steps)
            if report["error"] == "lost" and "rollout_replay_lost" in self.faults:
                report = _episode(RawClient(self.url, bound, self.faults), max_steps)
            return report

        with ThreadPoolExecutor(max_workers=int(op["concurrency"])) as pool:
            return {"ok": True, "episodes": list(pool.map(one, range(int(op["episodes"]))))}


def _episode(client: RawClient, max_steps: int) -> Result:
    """Connect, reset, step with the driver protocol's policy until done or `max_steps`, close."""
    out: Result = {"ok": True, "steps": 0, "rewards": [], "terminated": False, "truncated": False,
                   "truncated_by": None, "error": None, "error_step": None}  # fmt: skip
    try:
        res = client.connect()
        res = client.reset({}) if res.get("ok") else res
        while res.get("ok"):
            if res.get("done"):
                out["terminated"], out["truncated"] = bool(res.get("terminated", True)), bool(res.get("truncated"))
                out["truncated_by"] = "env" if out["truncated"] else None
                if "rollout_step_after_done" in client.faults:
                    client.step(rollout_action(res.get("observation")))
                return out
            if out["steps"] >= max_steps:
                out["truncated"], out["truncated_by"] = True, "client"
                return out
            res = client.step(rollout_action(res.get("observation")))
            if res.get("ok"):
                out["steps"] += 1
                out["rewards"].append(res.get("reward"))
        out.update(ok=False, error=res.get("error"), error_step=out["steps"], message=res.get("message"))
        return out
    finally:
        client.close()


def classify(exc: BaseException) -> Result:
    if isinstance(exc, Failure):
        return exc.result
    return failure("other", exc)


def main() -> None:
    faults = set(sys.argv[1:])
    unknown = faults - FAULTS
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}")
    url, timeout_s, ops = load_plan()
    client = RawClient(url, timeout_s, faults)
    plain = []
    for op in ops:
        if op["op"] == "concurrent":
            if plain:
                run_sync(client, plain, classify)
                plain = []
            results = client.steps_pipelined([dict(o["action"]) for o in op["ops"]])
            sys.stdout.write(json.dumps({"op": "concurrent", "results": results}) + "\n")
            sys.stdout.flush()
        else:
            plain.append(op)
    run_sync(client, plain, classify)


if __name__ == "__main__":
    main()
