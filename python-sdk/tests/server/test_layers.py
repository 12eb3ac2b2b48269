"""The server package's modules form a strict order: no module imports one of its own layer or
above, `if TYPE_CHECKING:` imports included (the order is the one `openenv/server/__init__.py`
documents)."""

from __future__ import annotations

import ast
from pathlib import Path

import openenv.server

SERVER = Path(openenv.server.__file__).parent

LAYERS: list[set[str]] = [
    {"background"},
    {"runner"},
    {"uvicorn_ws"},
    {"app"},
    {"http", "websocket", "tasks_http"},
    {"mcp.jsonrpc", "openapi"},
    {"service"},
    {"mcp.environment", "registry"},
    {"host", "capacity"},
    {"environment", "carrier", "watchdog"},
    {"tools", "asgi"},
    {"faults", "config"},
]
"""Top to bottom; a module may import only modules of lower layers."""


def server_imports(path: Path) -> set[str]:
    """`openenv.server.X` modules imported anywhere in the file (type-only and lazy ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "openenv.server":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("openenv.server."):
                found.add(node.module.removeprefix("openenv.server."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("openenv.server."):
                    found.add(alias.name.removeprefix("openenv.server."))
    return found


def module_names() -> dict[str, Path]:
    return {
        str(p.relative_to(SERVER).with_suffix("")).replace("/", "."): p
        for p in SERVER.rglob("*.py")
        if p.name != "__init__.py"
    }


def test_every_module_has_a_layer() -> None:
    placed = set().union(*LAYERS)
    assert set(module_names()) == placed


def test_imports_only_point_down() -> None:
    rank = {name: depth for depth, layer in enumerate(LAYERS) for name in layer}
    upward = []
    for name, path in module_names().items():
        for target in server_imports(path):
            target = target if target in rank else target.split(".", 1)[0]
            if target in rank and rank[target] <= rank[name]:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_order_catches_a_cycle(tmp_path: Path) -> None:
    """The check bites: an import of the app from a surface is reported."""
    probe = tmp_path / "http.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from openenv.server.app import OpenEnvApp\n"
    )
    assert "app" in server_imports(probe)
