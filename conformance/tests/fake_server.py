"""A small, real OpenEnv server for the harness's own tests, with switchable faults.

Contract: `FakeServer(faults=...)` runs a Starlette app under uvicorn in a background thread on a
free 127.0.0.1 port (`with FakeServer() as srv: srv.base_url`). With no faults it follows the
spec at both levels (base and `openenv.v1`): a line environment (`{direction, amount}` actions,
deterministic in the seed), capacity `MAX_SESSIONS` refused with 503 before the upgrade, one MCP
tool `echo`, HTTP simulation endpoints, JSON-RPC on `POST /mcp`, a taskset of three tasks with the
Task API (`TASKS`; `line-delayed` is scored at the end), `reward_info` on every step and a recorded
trajectory of `TRAJECTORY_MAX_STEPS` steps in the state. Each fault in `FAULTS` breaks exactly one
behaviour so the tests can check that the matching conformance check catches it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import socket
import threading
import time
import uuid
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

MAX_SESSIONS = 3
SLOW_FIRST_RESET_S = 3.0
MAX_MESSAGE_BYTES = 1024 * 1024
GOAL = 10
LIMITS = {
    "max_message_bytes": MAX_MESSAGE_BYTES,
    "step_timeout_s": 30.0,
    "idle_timeout_s": 300.0,
    "max_sessions": MAX_SESSIONS,
}
V1 = "openenv.v1"
_UNSEEDED_STARTS = itertools.cycle(range(-3, 4))
_SESSION_NUMBERS = itertools.count()  # each environment instance (one per session) gets the next
FAULTS = frozenset(
    {
        "wrong_envelope_key",  # observation data uses "obs" instead of "observation"
        "reply_out_of_order",  # a state request is answered after the request that follows it
        "silent_unknown_type",  # unknown types get no reply at all
        "close_on_invalid_json",  # malformed JSON closes the connection
        "step_count_stuck",  # step_count is never incremented
        "episode_id_ignored",  # the requested episode_id is replaced by a random one
        "nondeterministic_seed",  # the seed is ignored; the start position is random
        "capacity_after_upgrade",  # capacity refused after the upgrade (base-level legacy style)
        "capacity_not_enforced",  # /metadata declares max_sessions, but every session is accepted
        "schema_too_wide",  # /schema admits amounts the environment rejects with EXECUTION_ERROR
        "acts_first",  # not a defect: a fresh HTTP episode already has step_count 1
        "slow_first_reset",  # not a defect: the first reset takes SLOW_FIRST_RESET_S (longer than the timeout)
        "binary_closes",  # a binary frame closes the connection
        "notification_answered",  # JSON-RPC notifications on POST /mcp get a response
        "v1_no_id_echo",  # v1 replies do not carry the request id
        "v1_declared_not_offered",  # /metadata lists openenv.v1, but the upgrade never selects it
        "http_declared_not_served",  # /metadata declares http_simulation, but /reset /step /state are 404
        "mcp_declared_no_tools",  # /metadata declares mcp, but tools/list answers -32601 everywhere
        "modern_no_result_type",  # MCP 2026-07-28 results lack resultType
        "modern_envelope_unchecked",  # MCP 2026-07-28 requests whose headers do not match are served
        "notification_batch_answered",  # a POST /mcp batch of notifications only is answered -32600
        "ws_rpc_wrong_codes",  # mcp frames answer an unknown method with -32600 instead of -32601
        "tasks_declared_not_served",  # /metadata declares a taskset, the Task API answers 404
        "task_criteria_leak",  # the Task API shows each task's success criteria
        "task_ids_unstable",  # every listing names the tasks differently
        "task_id_ignored",  # reset with a task_id starts the first task
        "unknown_task_fallback",  # reset with an unknown task_id starts the first task
        "task_seed_random",  # a seed's task depends on the session (its rank), not on the seed alone
        "task_api_lenient",  # a bad Task API request gets 200 (or 404) instead of 400
        "taskset_miscounted",  # /metadata's taskset counts one task too many
        "reward_sum_wrong",  # reward_info lists a component the reward leaves out
        "pending_nonzero",  # a pending step carries a reward
        "trajectory_unbounded",  # the recorded trajectory grows past max_steps, nothing counted dropped
    }
)
ENV_NAME = "fake_line_env"
TRAJECTORY_MAX_STEPS = 3
TASKS: list[dict[str, Any]] = [
    {"id": "line-a", "split": "train", "prompt": "Reach 10 either way.", "initial_state": {}, "metadata": {},
     "success": {"distance": 10}},
    {"id": "line-b", "split": "train", "prompt": "Reach 10 either way.", "initial_state": {}, "metadata": {},
     "success": {"distance": 10}},
    {"id": "line-delayed", "split": "test", "prompt": "Reach 10; scored at the end.",
     "initial_state": {"scored_at_end": True}, "metadata": {}, "success": {"distance": 10}},
]  # fmt: skip
SPLITS = ["train", "test"]
_listings = itertools.count()
ACTION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["direction", "amount"],
    "properties": {
        "direction": {"type": "string", "enum": ["left", "right"]},
        "amount": {"type": "integer", "minimum": 1, "maximum": 5},
    },
}
OBS_SCHEMA = {
    "type": "object",
    "required": ["position"],
    "properties": {"position": {"type": "integer"}, "metadata": {"type": "object"}},
}
STATE_SCHEMA = {
    "type": "object",
    "required": ["episode_id", "step_count"],
    "properties": {
        "episode_id": {"type": ["string", "null"]},
        "step_count": {"type": "integer", "minimum": 0},
        "position": {"type": "integer"},
    },
}
ECHO_TOOL = {
    "name": "echo",
    "description": "Echo a message.",
    "inputSchema": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BadJson(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise BadJson(f"non-finite literal {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise BadJson("duplicate member name")
    return dict(pairs)


def parse_json(text: str | bytes) -> Any:
    try:
        value = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadJson(str(exc)) from None
    if _has_overflow(value):
        raise BadJson("number overflows a double")
    return value


def _has_overflow(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_overflow(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_overflow(v) for v in value)
    return False


def action_errors(action: Any, prefix: list[str | int]) -> list[dict[str, Any]]:
    """Strict validation of a line-env action; `loc` is relative to `prefix`."""
    if not isinstance(action, dict):
        return [{"type": "model_type", "loc": prefix, "msg": "action must be an object"}]
    errors = []
    for key in action:
        if key not in ("direction", "amount"):
            errors.append({"type": "extra_forbidden", "loc": [*prefix, key], "msg": "extra"})
    if action.get("direction") not in ("left", "right"):
        errors.append({"type": "enum", "loc": [*prefix, "direction"], "msg": "left or right"})
    amount = action.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 5:
        errors.append({"type": "int_range", "loc": [*prefix, "amount"], "msg": "integer 1..5"})
    return errors


def valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= 2**53 - 1
    return isinstance(value, str) and 1 <= len(value) <= 128


class TaskError(ValueError):
    pass


def public_task(task: dict[str, Any], faults: frozenset[str], listing: int = 0) -> dict[str, Any]:
    shown = {k: v for k, v in task.items() if k != "success" or "task_criteria_leak" in faults}
    if "task_ids_unstable" in faults:
        shown["id"] = f"{task['id']}-{listing}"
    return shown


def pick_task(params: dict[str, Any], faults: frozenset[str], session: int) -> dict[str, Any]:
    """The task of a reset: by `task_id` (within `split`), else drawn from the split by the seed."""
    task_id, split, seed = params.get("task_id"), params.get("split"), params.get("seed")
    if split is not None and split not in SPLITS:
        raise TaskError(f"unknown split {split!r}")
    if task_id is not None:
        found = next((t for t in TASKS if t["id"] == task_id), None)
        if "task_id_ignored" in faults or (found is None and "unknown_task_fallback" in faults):
            return TASKS[0]
        if found is None:
            raise TaskError(f"unknown task id {task_id!r}")
        if split is not None and found["split"] != split:
            raise TaskError(f"task {task_id!r} is not in split {split!r}")
        return found
    pool = [t for t in TASKS if split is None or t["split"] == split]
    if seed is None:
        return pool[0]
    if "task_seed_random" in faults:  # consecutive sessions draw different tasks for every seed
        return pool[(int(seed) + session) % len(pool)]
    digest = hashlib.sha256(f"{split}:{seed}".encode()).digest()
    return pool[int.from_bytes(digest[:8], "big") % len(pool)]


class LineEnv:
    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults
        self.number = next(_SESSION_NUMBERS)
        self.episode_id: str | None = None
        self.step_count = 0
        self.position = 0
        self.started = False
        self.done = False
        self.task = TASKS[0]
        self.steps: list[dict[str, Any]] = []
        self.dropped = 0

    def reset(self, params: dict[str, Any]) -> dict[str, Any]:
        seed = params.get("seed")
        self.task = pick_task(params, self.faults, self.number)  # TaskError: refused before anything changes
        self.steps, self.dropped = [], 0
        self.episode_id = params.get("episode_id") or str(uuid.uuid4())
        if "episode_id_ignored" in self.faults:
            self.episode_id = str(uuid.uuid4())
        if "nondeterministic_seed" in self.faults:  # differs on every reset (a random draw could repeat)
            self.position = next(_UNSEEDED_STARTS)
        else:
            self.position = (seed or 0) % 3
        self.step_count, self.started, self.done = 0, True, False
        return self.observation(None, {"task_id": self.task["id"], "split": self.task["split"]})

    def step(self, action: dict[str, Any]) -> dict[str, Any]:
        self.position += action["amount"] if action["direction"] == "right" else -action["amount"]
        if "step_count_stuck" not in self.faults:
            self.step_count += 1
        self.done = abs(self.position) >= GOAL
        reward, info = self.score()
        data = self.observation(reward, {"reward_info": info})
        self.record(action, data, reward)
        return data

    def score(self) -> tuple[float, dict[str, Any]]:
        """The step's reward and its reward_info (RFC 0004)."""
        if not self.task["initial_state"].get("scored_at_end"):
            goal = {"name": "goal", "value": 1.0 if self.done else 0.0, "weight": 1.0}
            parts = (
                [goal, {"name": "bonus", "value": 1.0, "weight": 0.25}] if "reward_sum_wrong" in self.faults else [goal]
            )
            return goal["value"], {"source": "step", "pending": False, "components": parts}
        if not self.done:
            return (0.5 if "pending_nonzero" in self.faults else 0.0), {"source": "step", "pending": True,
                                                                         "components": []}  # fmt: skip
        parts = [{"name": "goal", "value": 1.0, "weight": 1.0},
                 {"name": "steps", "value": float(len(self.steps) + self.dropped + 1), "weight": -0.01}]  # fmt: skip
        total = math.fsum(p["value"] * p["weight"] for p in parts)
        return total, {"source": "trajectory_scorer", "scorer": "line_scorer", "pending": False, "components": parts}

    def record(self, action: dict[str, Any], data: dict[str, Any], reward: float) -> None:
        self.steps.append({"action": action, "observation": data.get("observation"), "reward": reward})
        if len(self.steps) > TRAJECTORY_MAX_STEPS and "trajectory_unbounded" not in self.faults:
            del self.steps[0]
            self.dropped += 1

    def observation(self, reward: float | None, metadata: dict[str, Any]) -> dict[str, Any]:
        key = "obs" if "wrong_envelope_key" in self.faults else "observation"
        # as 0.10 sends it: data.metadata is a copy of the observation's metadata
        return {key: {"position": self.position, "metadata": metadata}, "reward": reward,
                "done": self.done, "metadata": metadata}  # fmt: skip

    def state(self) -> dict[str, Any]:
        record = {"steps": list(self.steps), "max_steps": TRAJECTORY_MAX_STEPS, "dropped": self.dropped}
        return {"episode_id": self.episode_id, "step_count": self.step_count,
                "position": self.position, "trajectory": record}  # fmt: skip


def rpc_error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}


MODERN = "2026-07-28"
HANDSHAKE = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
PV_KEY, CAPS_KEY = "io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities"
MODERN_STATUS = {-32700: 400, -32600: 400, -32602: 400, -32020: 400, -32022: 400, -32601: 404}


def _is_notification(msg: Any) -> bool:
    return (isinstance(msg, dict) and "id" not in msg and msg.get("jsonrpc") == "2.0"
            and isinstance(msg.get("method"), str) and isinstance(msg.get("params", {}), dict))  # fmt: skip


def modern_era(msg: Any, headers: dict[str, str] | None) -> bool:
    """MCP 2026-07-28: the version header decides when present, else `params._meta`."""
    if headers is not None and "mcp-protocol-version" in headers:
        return headers["mcp-protocol-version"] not in HANDSHAKE
    params = msg.get("params") if isinstance(msg, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PV_KEY in meta and meta[PV_KEY] not in HANDSHAKE


def _modern_rpc(msg: dict[str, Any], headers: dict[str, str] | None, faults: frozenset[str]) -> dict[str, Any]:
    rid, method, params = msg["id"], msg["method"], msg.get("params", {})
    meta = params.get("_meta")
    if not isinstance(meta, dict) or PV_KEY not in meta or CAPS_KEY not in meta:
        return rpc_error(rid, -32602, "params._meta envelope missing")
    if headers is not None and "modern_envelope_unchecked" not in faults:
        name_ok = method != "tools/call" or headers.get("mcp-name") == params.get("name")
        if headers.get("mcp-protocol-version") != meta[PV_KEY] or headers.get("mcp-method") != method or not name_ok:
            return rpc_error(rid, -32020, "headers do not match the body")
    if meta[PV_KEY] != MODERN:
        return rpc_error(rid, -32022, "unsupported", {"supported": [MODERN, *HANDSHAKE], "requested": meta[PV_KEY]})
    if method == "server/discover":
        reply: dict[str, Any] | None = {"jsonrpc": "2.0", "id": rid, "result": {
            "supportedVersions": [MODERN, *HANDSHAKE], "capabilities": {"tools": {}}, "ttlMs": 0,
            "cacheScope": "public"}}  # fmt: skip
    elif method in ("initialize", "ping"):
        reply = rpc_error(rid, -32601, f"method not found: {method}")
    else:
        reply = handle_rpc({**msg, "params": {k: v for k, v in params.items() if k != "_meta"}}, faults)
        assert reply is not None
    result = reply.get("result")
    if isinstance(result, dict):
        if method == "tools/list":
            result.update(ttlMs=0, cacheScope="public")
        if "modern_no_result_type" not in faults:
            result["resultType"] = "complete"
        result["_meta"] = {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1.0"}}
    return reply


def handle_rpc(
    msg: Any, faults: frozenset[str] = frozenset(), headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """JSON-RPC over `/mcp` and `type:"mcp"` (`headers`: POST /mcp's); None when nothing is answered."""
    if isinstance(msg, list) and msg and all(_is_notification(m) for m in msg):
        return rpc_error(None, -32600, "no batches") if "notification_batch_answered" in faults else None
    if not isinstance(msg, dict):
        return rpc_error(None, -32600, "request must be an object")
    has_id = "id" in msg
    rid = msg.get("id")
    if has_id and not (rid is None or isinstance(rid, str) or
                       (isinstance(rid, int) and not isinstance(rid, bool))):  # fmt: skip
        return rpc_error(None, -32600, "invalid id")
    params = msg.get("params", {})
    if msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
        return rpc_error(rid if has_id else None, -32600, "invalid request")
    if not isinstance(params, dict):
        return rpc_error(rid, -32600, "params must be an object")
    if not has_id:
        return None
    if modern_era(msg, headers):
        return _modern_rpc(msg, headers, faults)
    method = msg["method"]
    if "session_id" in params and method.startswith("tools/"):
        return rpc_error(rid, -32602, f"unknown session_id {params['session_id']!r}")
    if method in ("tools/list", "tools/call") and "mcp_declared_no_tools" in faults:
        return rpc_error(rid, -32601, f"method not found: {method}")
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": rid, "result": {"tools": [ECHO_TOOL]}}
    if method == "tools/call":
        name = params.get("name")
        if not isinstance(name, str):
            return rpc_error(rid, -32602, "missing name")
        if name != "echo":
            return rpc_error(rid, -32602, f"unknown tool {name!r}")
        text = str((params.get("arguments") or {}).get("message", ""))
        result = {"content": [{"type": "text", "text": text}], "isError": False}
        return {"jsonrpc": "2.0", "id": rid, "result": result}
    if method == "initialize":
        result = {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                  "capabilities": {"tools": {}},
                  "serverInfo": {"name": "fake", "version": "1.0"}}  # fmt: skip
        return {"jsonrpc": "2.0", "id": rid, "result": result}
    if method == "ping":
        return {"jsonrpc": "2.0", "id": rid, "result": {}}
    return rpc_error(rid, -32601, f"method not found: {method}")


class FakeServer:
    def __init__(self, faults: set[str] | frozenset[str] = frozenset(), *, max_sessions: int = MAX_SESSIONS) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        self.faults = frozenset(faults)
        self.max_sessions = max_sessions
        self.warmed_up = False
        self.limits = {**LIMITS, "max_sessions": max_sessions}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.active = 0
        self.lock = threading.Lock()
        app = Starlette(
            routes=[
                WebSocketRoute("/ws", self.ws),
                Route("/health", self.health),
                Route("/metadata", self.metadata),
                Route("/schema", self.schema),
                Route("/openapi.json", self.openapi),
                Route("/reset", self.http_reset, methods=["POST"]),
                Route("/step", self.http_step, methods=["POST"]),
                Route("/state", self.http_state),
                Route("/mcp", self.http_mcp, methods=["POST"]),
                Route(f"/{ENV_NAME}/splits", self.task_splits, methods=["GET"]),
                Route(f"/{ENV_NAME}/{{route}}", self.task_route, methods=["POST"]),
            ],
            exception_handlers={HTTPException: self.http_error},
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", access_log=False,
            ws_max_size=MAX_MESSAGE_BYTES * 4, ws_per_message_deflate=False, lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    # -- HTTP ------------------------------------------------------------------------------
    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "healthy", "active_sessions": self.active,
                             "max_sessions": self.max_sessions})  # fmt: skip

    async def metadata(self, request: Request) -> Response:
        return JSONResponse({"name": "fake_line_env", "description": "test server",
                             "readme_content": None, "version": "1.0.0", "author": None,
                             "documentation_url": None, "protocols": [V1],
                             "capabilities": {"mcp": True, "http_simulation": True, "tasks": True,
                                              "trajectory": True},
                             "taskset": {"num_tasks": len(TASKS) + ("taskset_miscounted" in self.faults),
                                         "splits": [{"name": s, "num_tasks": sum(t["split"] == s for t in TASKS)}
                                                    for s in SPLITS]},
                             "trajectory": {"max_steps": TRAJECTORY_MAX_STEPS},
                             "limits": self.limits})  # fmt: skip

    # -- Task API (spec/tasks.md) ------------------------------------------------------------
    async def task_splits(self, request: Request) -> Response:
        if "tasks_declared_not_served" in self.faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        return JSONResponse([{"name": s, "type": "split"} for s in SPLITS])

    async def task_route(self, request: Request) -> Response:
        route = request.path_params["route"]
        if "tasks_declared_not_served" in self.faults or route not in ("splits", "tasks", "num_tasks", "task",
                                                                         "task_range"):  # fmt: skip
            return JSONResponse({"detail": "Not Found"}, 404)
        if route == "splits":
            return JSONResponse({"detail": "Method Not Allowed"}, 405, headers={"Allow": "GET"})
        lenient = "task_api_lenient" in self.faults
        try:
            body = parse_json(await request.body() or b"{}")
        except BadJson as exc:
            return JSONResponse({"detail": f"Invalid JSON: {exc}"}, 200 if lenient else 400)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "the body must be a JSON object"}, 200 if lenient else 400)
        split = body.get("split")
        if split is not None and split not in SPLITS:
            if lenient:
                return JSONResponse({"tasks": [], "env_name": ENV_NAME})
            return JSONResponse({"detail": f"unknown split {split!r}"}, 400)
        listing = next(_listings)
        tasks = [public_task(t, self.faults, listing) for t in TASKS if split is None or t["split"] == split]
        if route == "tasks":
            return JSONResponse({"tasks": tasks, "env_name": ENV_NAME})
        if route == "num_tasks":
            return JSONResponse({"num_tasks": len(tasks)})
        if route == "task":
            index = body.get("index")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(tasks):
                return JSONResponse({"detail": "Invalid task index"}, 404 if lenient else 400)
            return JSONResponse({"task": tasks[index]})
        start, stop = body.get("start", 0), body.get("stop", len(tasks))
        return JSONResponse({"tasks": tasks[start:stop]})

    async def schema(self, request: Request) -> Response:
        return JSONResponse({"action": ACTION_SCHEMA, "observation": OBS_SCHEMA,
                             "state": STATE_SCHEMA})  # fmt: skip

    async def openapi(self, request: Request) -> Response:
        paths = {p: {} for p in ("/health", "/metadata", "/schema", "/reset", "/step", "/state")}
        return JSONResponse({"openapi": "3.1.0", "info": {"title": "fake", "version": "1.0.0"},
                             "paths": paths})  # fmt: skip

    async def _body(self, request: Request) -> tuple[Any, Response | None]:
        raw = await request.body()
        try:
            return parse_json(raw or b"{}"), None
        except BadJson as exc:
            detail = [{"type": "json_invalid", "loc": ["body"], "msg": str(exc)}]
            return None, JSONResponse({"detail": detail}, 422)

    @staticmethod
    def _422(loc: list[Any], msg: str) -> Response:
        return JSONResponse({"detail": [{"type": "value_error", "loc": loc, "msg": msg}]}, 422)

    async def http_reset(self, request: Request) -> Response:
        if "http_declared_not_served" in self.faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        body, bad = await self._body(request)
        if bad:
            return bad
        if not isinstance(body, dict):
            return self._422(["body"], "body must be an object")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            return self._422(["body", "seed"], "seed must be an integer >= 0")
        try:
            obs = LineEnv(self.faults).reset(body)
        except TaskError as exc:
            return self._422(["body", "task_id"], str(exc))
        return JSONResponse(obs)

    async def http_step(self, request: Request) -> Response:
        if "http_declared_not_served" in self.faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        body, bad = await self._body(request)
        if bad:
            return bad
        if not isinstance(body, dict) or "action" not in body:
            return self._422(["body", "action"], "action is required")
        errors = action_errors(body["action"], ["body", "action"])
        if errors:
            return JSONResponse({"detail": errors}, 422)
        env = LineEnv(self.faults)
        env.reset({})
        return JSONResponse(env.step(body["action"]))

    async def http_state(self, request: Request) -> Response:
        if "http_declared_not_served" in self.faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        # "acts_first": the environment moves once on its own in every fresh episode (legal)
        return JSONResponse(LineEnv(self.faults).state() | {"step_count": 1 if "acts_first" in self.faults else 0})

    async def http_mcp(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_MESSAGE_BYTES:
            return JSONResponse({"detail": "body too large"}, 413)
        headers = {k: v for k, v in request.headers.items() if k.startswith("mcp-")}
        modern = headers.get("mcp-protocol-version", HANDSHAKE[0]) not in HANDSHAKE
        try:
            msg = parse_json(raw)
        except BadJson as exc:
            return JSONResponse(rpc_error(None, -32700, f"parse error: {exc}"), 400 if modern else 200)
        reply = handle_rpc(msg, self.faults, headers)
        if reply is None:
            if "notification_answered" in self.faults:
                return JSONResponse(rpc_error(None, -32601, "method not found"))
            return Response(status_code=202)
        modern = modern or modern_era(msg, headers)
        code = reply["error"]["code"] if "error" in reply else None
        return JSONResponse(reply, MODERN_STATUS.get(code, 200) if modern and code is not None else 200)

    # -- WebSocket -------------------------------------------------------------------------
    async def ws(self, websocket: WebSocket) -> None:
        v1 = V1 in websocket.scope.get("subprotocols", []) and "v1_declared_not_offered" not in self.faults
        if websocket.query_params.get("session_id") is not None:
            await websocket.accept()
            await websocket.send_text(json.dumps({"type": "error", "data": {
                "code": "SESSION_ERROR", "message": "unknown session_id"}}))  # fmt: skip
            await websocket.close(1008)
            return
        with self.lock:
            full = self.active >= self.max_sessions and "capacity_not_enforced" not in self.faults
            if not full:
                self.active += 1
        if full:
            error = {"type": "error", "data": {"code": "CAPACITY_REACHED", "message": "full",
                     "active_sessions": self.max_sessions, "max_sessions": self.max_sessions}}  # fmt: skip
            if "capacity_after_upgrade" in self.faults and not v1:
                await websocket.accept()
                await websocket.send_text(json.dumps(error))
                await websocket.close(1013)
            else:
                await websocket.send_denial_response(JSONResponse(error, 503, headers={"Retry-After": "1"}))
            return
        try:
            await self.session(websocket, v1)
        finally:
            with self.lock:
                self.active -= 1

    async def session(self, websocket: WebSocket, v1: bool) -> None:
        await websocket.accept(subprotocol=V1 if v1 else None)
        env = LineEnv(self.faults)
        if v1:
            await websocket.send_text(json.dumps({"type": "session", "data": {
                "session_id": str(uuid.uuid4()), "protocol": V1, "limits": self.limits}}))  # fmt: skip
        pending: list[dict[str, Any]] = []
        try:
            while True:
                if pending:
                    message = pending.pop(0)
                else:
                    message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    if "binary_closes" in self.faults:
                        await websocket.close(1003)
                        return
                    await self.send(websocket, self.error("INVALID_JSON", "binary frame"))
                    continue
                if len(raw.encode()) > MAX_MESSAGE_BYTES:
                    if v1:
                        await self.send(websocket, self.error("MESSAGE_TOO_LARGE", "too large"))
                    await websocket.close(1009)
                    return
                reply, close = self.handle(env, raw, v1)
                if close:
                    await websocket.close(1000)
                    return
                if reply is None:
                    continue
                if "reply_out_of_order" in self.faults and reply["type"] == "state":
                    try:  # a request already queued behind this one is answered first
                        nxt = await asyncio.wait_for(websocket.receive(), 0.05)
                    except TimeoutError:
                        nxt = None
                    if nxt is not None and nxt.get("text") is not None:
                        first, _ = self.handle(env, nxt["text"], v1)
                        if first is not None:
                            await self.send(websocket, first)
                    elif nxt is not None:
                        pending.append(nxt)
                await self.send(websocket, reply)
        except WebSocketDisconnect:
            return

    @staticmethod
    async def send(websocket: WebSocket, frame: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(frame, allow_nan=False))

    @staticmethod
    def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
        return {"type": "error", "data": {"code": code, "message": message, **extra}}

    def handle(self, env: LineEnv, raw: str, v1: bool) -> tuple[dict[str, Any] | None, bool]:
        """(reply, close) for one text frame."""
        try:
            frame = parse_json(raw)
        except BadJson as exc:
            if "close_on_invalid_json" in self.faults:
                return None, True
            return self.error("INVALID_JSON", str(exc)), False
        if not isinstance(frame, dict):
            return self.error("VALIDATION_ERROR", "frame must be an object", errors=[
                {"type": "model_type", "loc": [], "msg": "object expected"}]), False  # fmt: skip
        rid_present = v1 and "id" in frame
        rid = frame.get("id")
        if rid_present and not valid_id(rid):
            return self.error("VALIDATION_ERROR", "invalid id", errors=[
                {"type": "id", "loc": ["id"], "msg": "invalid id"}]), False  # fmt: skip
        reply = self.dispatch(env, frame, v1)
        if reply is not None and rid_present and "v1_no_id_echo" not in self.faults:
            reply["id"] = rid
        if reply is not None and v1 and reply["type"] == "observation" and "obs" not in reply:
            reply["data"]["terminated"] = reply["data"]["done"]
            reply["data"]["truncated"] = False
        return reply, frame.get("type") == "close" and set(frame) == {"type"}

    def dispatch(self, env: LineEnv, frame: dict[str, Any], v1: bool) -> dict[str, Any] | None:
        kind = frame.get("type")
        allowed = {"reset": {"type", "data"}, "step": {"type", "data"}, "state": {"type"},
                   "close": {"type"}, "mcp": {"type", "data"}}  # fmt: skip
        if not isinstance(kind, str) or kind not in allowed:
            if "silent_unknown_type" in self.faults:
                return None
            return self.error("UNKNOWN_TYPE", f"unknown type {kind!r}")
        extra = set(frame) - allowed[kind] - ({"id"} if v1 else set())
        invalid = [{"type": "extra_forbidden", "loc": [k], "msg": "extra"} for k in extra]
        data = frame.get("data", {} if kind == "reset" else None)
        if kind in ("step", "mcp") and "data" not in frame:
            invalid.append({"type": "missing", "loc": ["data"], "msg": "data is required"})
        elif "data" in frame and not isinstance(data, dict):
            invalid.append({"type": "model_type", "loc": ["data"], "msg": "object expected"})
        if invalid:
            return self.error("VALIDATION_ERROR", "invalid frame", errors=invalid)
        if kind == "close":
            return None
        if kind == "state":
            return {"type": "state", "data": env.state()}
        if kind == "mcp":
            reply = handle_rpc(data, self.faults)
            if reply is not None and "ws_rpc_wrong_codes" in self.faults and "error" in reply:
                reply["error"]["code"] = -32600 if reply["error"]["code"] == -32601 else reply["error"]["code"]
            return None if reply is None else {"type": "mcp", "data": reply}
        assert isinstance(data, dict)
        if kind == "reset":
            seed, eid = data.get("seed"), data.get("episode_id")
            bad_seed = seed is not None and (
                not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**53 - 1
            )
            bad_eid = eid is not None and (not isinstance(eid, str) or not 1 <= len(eid) <= 255)
            if bad_seed or bad_eid:
                loc = ["data", "seed" if bad_seed else "episode_id"]
                issue = {"type": "value", "loc": loc, "msg": "invalid"}
                return self.error("VALIDATION_ERROR", "invalid reset parameter", errors=[issue])
            if "slow_first_reset" in self.faults and not self.warmed_up:
                time.sleep(SLOW_FIRST_RESET_S)  # loading a model: the first reset only (legal)
                self.warmed_up = True
            try:
                return {"type": "observation", "data": env.reset(data)}
            except TaskError as exc:
                return self.error("EXECUTION_ERROR", str(exc))
        errors = action_errors(data, ["data"] if v1 else [])
        if errors:
            return self.error("VALIDATION_ERROR", "invalid action", errors=errors)
        if v1 and not env.started:
            return self.error("EPISODE_NOT_STARTED", "reset first")
        if v1 and env.done:
            return self.error("EPISODE_ENDED", "episode has ended; reset")
        if "schema_too_wide" in self.faults and data.get("amount", 0) >= 1:
            return self.error("EXECUTION_ERROR", "amount out of range")  # every amount /schema admits
        return {"type": "observation", "data": env.step(data)}


def wait_forever() -> None:  # pragma: no cover - manual debugging aid
    with FakeServer() as srv:
        print(srv.base_url, flush=True)
        asyncio.run(asyncio.sleep(3600))
