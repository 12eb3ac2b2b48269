"""`GET /openapi.json`: the server's HTTP surface as OpenAPI 3.1, with this environment's own types.

The shapes follow `openapi.yaml` at the repository root (the normative HTTP description); here the
generic `action`/`observation`/`state` objects are replaced by the environment's models, so
schema-driven tools (schemathesis, client generators) see the real types (OE-HTTP-007).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from openenv.server.service import EnvService

REF = "#/components/schemas/{model}"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move a schema's `$defs` into `components` (their refs already point there)."""
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    return schema


def openapi_document(service: EnvService) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the server of `service`."""
    cls = service.env_class
    components: dict[str, Any] = {}
    action = _hoist(TypeAdapter(service.action_model).json_schema(ref_template=REF), components)
    observation = _hoist(cls.observation_type.model_json_schema(ref_template=REF), components)
    state = _hoist(service.state_schema(ref_template=REF), components)
    components.update({"Action": action, "Observation": observation, "State": state})
    result = {
        "type": "object",
        "required": ["observation", "reward", "done"],
        "properties": {
            "observation": {"type": "object"},
            "reward": {"type": ["number", "null"]},
            "done": {"type": "boolean"},
            "metadata": {"type": ["object", "null"]},
        },
    }
    detail = {"type": "object", "required": ["detail"], "properties": {"detail": {}}}
    errors = {
        "422": {"description": "Invalid request", **_json(detail)},
        "500": {"description": "Environment failure", **_json({"type": "object"})},
    }
    reset_body = {
        "type": "object",
        "properties": {
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
            "episode_id": {"type": "string", "minLength": 1, "maxLength": 255},
        },
    }
    step_body = {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"$ref": "#/components/schemas/Action"},
            "timeout_s": {"type": "number", "exclusiveMinimum": 0},
            "request_id": {"type": "string", "maxLength": 255},
        },
    }
    ok = "Success"
    paths: dict[str, Any] = {
        "/health": {
            "get": {"operationId": "health", "responses": {"200": {"description": ok, **_json({"type": "object"})}}}
        },
        "/metadata": {
            "get": {"operationId": "metadata", "responses": {"200": {"description": ok, **_json({"type": "object"})}}}
        },
        "/schema": {
            "get": {"operationId": "schema", "responses": {"200": {"description": ok, **_json({"type": "object"})}}}
        },
        "/reset": {
            "post": {
                "operationId": "reset",
                "requestBody": {"required": False, **_json(reset_body)},
                "responses": {"200": {"description": ok, **_json(result)}, **errors},
            }
        },
        "/step": {
            "post": {
                "operationId": "step",
                "requestBody": {"required": True, **_json(step_body)},
                "responses": {"200": {"description": ok, **_json(result)}, **errors},
            }
        },
        "/state": {
            "get": {
                "operationId": "state",
                "responses": {
                    "200": {"description": ok, **_json({"$ref": "#/components/schemas/State"})},
                    "500": errors["500"],
                },
            }
        },
        "/mcp": {
            "post": {
                "operationId": "mcp",
                "requestBody": {"required": True, **_json({"type": "object"})},
                "responses": {
                    "200": {"description": "JSON-RPC response", **_json({"type": "object"})},
                    "202": {"description": "Notification accepted"},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{service.config.name} (OpenEnv)",
            "version": "1.0.0",
            "description": "OpenEnv protocol 1 HTTP surface",
        },
        "paths": paths,
        "components": {"schemas": components},
    }
