"""The Task API routes 0.10 serves, for an environment that sets `taskset` (RFC 0006).

`GET /{name}/splits`, `POST /{name}/tasks`, `/{name}/num_tasks`, `/{name}/task`,
`/{name}/task_range` (`name` = the server's environment name), answered by
`openenv.tasks.task_api` in 0.10's shapes: a body is an optional JSON object (`split`, `index`,
`start`, `stop`); a malformed one is a 400 with a `detail`, a wrong method a 405. Bodies are
bounded by `max_message_bytes`. Side-effect free: no environment instance is created.
"""

from __future__ import annotations

from typing import Any

import orjson

from openenv.server.asgi import Receive, Scope, SendFn
from openenv.server.service import EnvService
from openenv.tasks import Taskset, task_api

ROUTES = {"splits": "GET", "tasks": "POST", "num_tasks": "POST", "task": "POST", "task_range": "POST"}
_JSON = [(b"content-type", b"application/json")]


class TaskRoutes:
    """Serves the Task API of one server's taskset."""

    def __init__(self, service: EnvService, taskset: Taskset) -> None:
        self.service = service
        self.taskset = taskset

    @classmethod
    def for_service(cls, service: EnvService) -> TaskRoutes | None:
        """The routes when the environment class sets a `Taskset` as `taskset`, else None."""
        return cls(service, service.taskset) if service.taskset is not None else None

    def handles(self, path: str) -> bool:
        prefix = f"/{self.service.config.name}/"
        return path.startswith(prefix) and path[len(prefix) :] in ROUTES

    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        route = scope["path"].rsplit("/", 1)[1]
        headers: list[tuple[bytes, bytes]] = []
        status: int
        payload: Any
        if scope["method"] != ROUTES[route]:
            status, payload = 405, {"detail": "Method Not Allowed"}
            headers = [(b"allow", ROUTES[route].encode())]
        else:
            body = await self._body(receive)
            if isinstance(body, tuple):
                status, payload = body
            else:
                status, payload = task_api(self.taskset, route, body)
        await send({"type": "http.response.start", "status": status, "headers": [*_JSON, *headers]})
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})

    async def _body(self, receive: Receive) -> dict[str, Any] | tuple[int, Any]:
        limit = self.service.config.max_message_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, {"detail": "client disconnected"}
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return 413, {"detail": f"request body exceeds the limit of {limit} bytes"}
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        if not raw.strip():
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return 400, {"detail": f"Invalid JSON: {exc}"}
        if value is None:
            return {}
        if not isinstance(value, dict):
            return 400, {"detail": "the body must be a JSON object"}
        return value
