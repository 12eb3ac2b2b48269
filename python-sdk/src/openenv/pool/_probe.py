"""One blocking `GET /health` probe, shared by both pools (the async pool runs it on its probe threads,
so a busy event loop does not slow failure detection down).

Contract: `probe(http, base_url)` returns `(health, refused)`: `health` is `/health`'s object when
the server answered 200 `{"status": "healthy", …}`, else None; `refused` is True when nothing
accepted the connection (the replica's server is gone). A kept-alive connection the server dropped
gets one fresh try. Timeouts and other answers are plain failures (`(None, False)`).
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["probe"]


def probe(http: httpx.Client, base_url: str) -> tuple[dict[str, Any] | None, bool]:
    for attempt in range(2):
        try:
            response = http.get(f"{base_url}/health")
            body = response.json()
        except httpx.ConnectError:
            return None, True
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            if attempt == 0:
                continue
            return None, False
        except (httpx.HTTPError, ValueError):
            return None, False
        if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "healthy":
            return body, False
        return None, False
    return None, False
