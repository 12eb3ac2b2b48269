"""Describe the public API of `openenv.core` as JSON on stdout (run by either interpreter).

Run as a script by `test_api_010.py`, once with `.venv-openenv010/bin/python` (the real 0.10.0
package) and once with ours. For every module of `MODULES`: its public names (`__all__`, else the
names defined in it) and, for each, its kind and shape — a function's parameters (name, kind,
whether it has a default), a class's public methods' parameters, a pydantic model's fields
(name → required) and an enum's members.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import sys
from typing import Any, TypeVar

MODULES = [
    "openenv.core",
    "openenv.core.env_server",
    "openenv.core.env_server.interfaces",
    "openenv.core.env_server.types",
    "openenv.core.env_server.http_server",
    "openenv.core.env_server.mcp_environment",
    "openenv.core.env_server.mcp_types",
    "openenv.core.env_server.serialization",
    "openenv.core.env_server.exceptions",
    "openenv.core.env_client",
    "openenv.core.client_types",
    "openenv.core.generic_client",
    "openenv.core.mcp_client",
    "openenv.core.sync_client",
    "openenv.core.rubrics",
    "openenv.core.rubrics.base",
    "openenv.core.rubrics.containers",
    "openenv.core.rubrics.trajectory",
]


def params(fn: Any) -> list[list[Any]] | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name, p.default is not inspect.Parameter.empty] for p in signature.parameters.values()]


def describe(obj: Any) -> dict[str, Any]:
    if isinstance(obj, TypeVar):
        return {"kind": "TypeVar"}
    if inspect.isclass(obj):
        info: dict[str, Any] = {"kind": "class"}
        if issubclass(obj, enum.Enum):
            info["members"] = sorted(m.name for m in obj)
            return info
        fields = getattr(obj, "model_fields", None)
        if isinstance(fields, dict) and hasattr(obj, "model_validate"):
            info["fields"] = {name: f.is_required() for name, f in fields.items()}
        methods: dict[str, Any] = {}
        for name, member in inspect.getmembers(obj):
            if name.startswith("_") and name not in ("__init__", "_step_payload", "_parse_result", "_parse_state"):
                continue
            if name.startswith("model_") or name in (
                "construct",
                "copy",
                "dict",
                "json",
                "parse_obj",
                "parse_raw",
                "parse_file",
                "from_orm",
                "schema",
                "schema_json",
                "validate",
                "update_forward_refs",
            ):
                continue  # pydantic's own
            if inspect.isfunction(member) or inspect.ismethod(member):
                methods[name] = params(member)
            elif isinstance(member, property):
                methods[name] = "property"
        if "fields" in info:
            methods.pop("__init__", None)  # a model's __init__ is its fields
        info["methods"] = methods
        return info
    if callable(obj):
        return {"kind": "function", "params": params(obj)}
    if inspect.ismodule(obj):
        return {"kind": "module"}
    return {"kind": type(obj).__name__}


def dump(module_name: str) -> dict[str, Any]:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # reported, not fatal: the comparison says which module is missing
        return {"error": f"{type(exc).__name__}: {exc}"}
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module_name
        ]
    out: dict[str, Any] = {}
    for name in sorted(set(names)):
        try:
            out[name] = describe(getattr(module, name))
        except Exception as exc:
            out[name] = {"kind": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"names": out}


if __name__ == "__main__":
    json.dump({m: dump(m) for m in (sys.argv[1:] or MODULES)}, sys.stdout, indent=1, sort_keys=True)
