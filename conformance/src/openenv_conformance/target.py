"""The server under test: its URLs and the run options every case shares.

Contract: `Target.parse(url)` accepts `http://host:port[/prefix]`, `https://…`, `ws://…/ws` or a
bare `host:port`, and derives the HTTP base URL and the `/ws` URL from it. The harness only ever
contacts that host and port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_BUDGET_S = 600.0


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    """`http(s)://host:port[/prefix]` without a trailing slash."""
    ws_base: str
    """`ws(s)://host:port[/prefix]`."""
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Target:
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        parts = urlsplit(text)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s)/ws(s) URL: {url!r}")
        path = parts.path.rstrip("/")
        if parts.scheme in ("ws", "wss") and path.endswith("/ws"):
            path = path[: -len("/ws")]
        port = parts.port or (443 if scheme == "https" else 80)
        host = parts.hostname
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        ws_scheme = "wss" if scheme == "https" else "ws"
        return cls(f"{scheme}://{netloc}{path}", f"{ws_scheme}://{netloc}{path}", host, port)

    def ws_url(self, path: str = "/ws") -> str:
        return self.ws_base + path

    def http_url(self, path: str) -> str:
        return self.base_url + path


@dataclass(slots=True)
class RunOptions:
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Per-reply wait; a case's own limit is a multiple of it."""
    budget_s: float = DEFAULT_BUDGET_S
    """Whole-run limit; cases not started in time are reported as ERROR."""
    seed: int = 0
    reset_data: dict[str, Any] = field(default_factory=dict)
    action: dict[str, Any] | None = None
    """A valid action to use instead of one derived from `/schema`."""
    sessions: int = 4
    """N for the concurrency profile."""
    perf_steps: int = 200
    """Round trips measured by the performance profile."""
    fuzz_examples: int = 20
    """Generated actions per fuzzing case (valid and invalid each)."""
    schemathesis_examples: int = 10
    """`--max-examples` for the schemathesis pass of the http profile (0 = skip it)."""
    schemathesis_phases: str = "examples,coverage,fuzzing,stateful"
    """`--phases` for the schemathesis pass."""
    schemathesis_paths: str | None = None
    """Regex limiting the schemathesis pass to some paths (`--include-path-regex`); None = all."""
    capacity_probe: int = 64
    """At most this many sessions are opened when looking for the capacity limit."""
