"""Server settings: the limits a server enforces and advertises in `/metadata`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(slots=True, frozen=True)
class ServerConfig:
    """Limits and identity of one server.

    Attributes:
        name: the environment's name (as in its `openenv.yaml`).
        version: the environment's version.
        description: one paragraph for `/metadata`.
        max_sessions: concurrent sessions (WebSocket + stateless HTTP calls in flight).
        max_message_bytes: largest inbound frame or HTTP body accepted.
        step_timeout_s: bound on every environment call (reset/step/state), seconds.
        idle_timeout_s: a session with no inbound frame for this long is closed, seconds.
        v1: whether the `openenv.v1` subprotocol is offered.
        retry_after_s: the `Retry-After` sent with a capacity refusal.
        tasks: the environment declares tasks (its manifest has `tasks`).
        named_sessions: serve `openenv/session/create|close` on `POST /mcp` and `/ws?session_id=`
            attach, for 0.10 MCP clients (session ids are then bearer secrets, OE-SEC-002).
        lax_base_typing: validate base-level actions (and the HTTP `reset` seed) in pydantic's lax
            mode, as 0.10 does (`"2"` becomes 2, OE-GEN-016's MAY); v1 connections stay strict
            (OE-GEN-015). `openenv.core`'s `create_app` sets it; our own apps leave it off.
    """

    name: str
    version: str = "1.0.0"
    description: str | None = None
    max_sessions: int = 64
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    step_timeout_s: float = 60.0
    idle_timeout_s: float = 900.0
    v1: bool = True
    retry_after_s: int = 1
    named_sessions: bool = False
    tasks: bool = False
    lax_base_typing: bool = False

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if self.max_message_bytes < 1024:
            raise ValueError("max_message_bytes must be at least 1024")
        for field in ("step_timeout_s", "idle_timeout_s"):
            value = getattr(self, field)
            if not value > 0:
                raise ValueError(f"{field} must be positive")

    def limits(self) -> dict[str, Any]:
        """The `limits` object of `/metadata` and of the v1 `session` frame."""
        return {
            "max_message_bytes": self.max_message_bytes,
            "step_timeout_s": self.step_timeout_s,
            "idle_timeout_s": self.idle_timeout_s,
            "max_sessions": self.max_sessions,
        }


def manifest_settings(manifest: Any) -> dict[str, Any]:
    """The `ServerConfig` fields a validated manifest determines: name, version, description,
    limits and whether it declares tasks (OE-HTTP-004, OE-MAN-010)."""
    settings: dict[str, Any] = {"name": manifest.name}
    for key in ("version", "description"):
        value = getattr(manifest, key, None)
        if value is not None:
            settings[key] = " ".join(str(value).split())
    limits = getattr(manifest, "limits", None)
    if limits is not None:
        settings.update(limits.model_dump(exclude_none=True))
    settings["tasks"] = bool(getattr(manifest, "tasks", None))
    return settings
