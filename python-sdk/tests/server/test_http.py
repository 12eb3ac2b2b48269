"""The HTTP surface of the runtime, checked against `schemas/` and the spec's HTTP clauses."""

from __future__ import annotations

import httpx
import pytest
from openenv.server.background import BackgroundServer

from tests.conftest import Serve
from tests.envs import LineEnv
from tests.schemas_util import is_valid


@pytest.fixture(scope="module")
def http(line_server: BackgroundServer):
    with httpx.Client(base_url=line_server.base_url, timeout=10) as client:
        yield client


def test_discovery_documents_validate(http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and is_valid("HealthResponse", health.json())
    metadata = http.get("/metadata").json()
    assert is_valid("MetadataResponse", metadata), metadata
    assert metadata["name"] == "line_env" and metadata["protocols"] == ["openenv.v1"]
    assert metadata["limits"]["max_sessions"] == 16
    schema = http.get("/schema").json()
    assert is_valid("SchemaResponse", schema)
    assert schema["action"]["properties"]["direction"]["enum"] == ["left", "right"]
    assert "position" in schema["state"]["properties"]


def test_stateless_reset_step_state(http: httpx.Client) -> None:
    reset = http.post("/reset", json={"seed": 3, "episode_id": "h"})
    assert reset.status_code == 200 and is_valid("HttpResetResponse", reset.json())
    assert reset.json()["metadata"] == {"seed": 3}
    assert http.post("/reset").status_code == 200  # empty body (OE-HTTP-013)
    for _ in range(2):  # same request, same answer: no state carries over (OE-HTTP-010)
        step = http.post("/step", json={"action": {"direction": "right", "amount": 2}, "request_id": "r"})
        assert step.status_code == 200 and is_valid("HttpStepResponse", step.json())
        assert step.json()["observation"]["position"] == 2 and step.json()["metadata"] is None
    state = http.get("/state").json()
    assert state == {"episode_id": None, "step_count": 0, "position": 0, "seed": None}


@pytest.mark.parametrize(
    ("path", "body", "first_loc"),
    [
        ("/reset", {"seed": -1}, ["body", "seed"]),
        ("/reset", [], ["body"]),
        ("/step", {"direction": "right", "amount": 1}, ["body", "action"]),
        ("/step", {"action": {"direction": "up", "amount": 1}}, ["body", "action", "direction"]),
        ("/step", "{bad json", ["body"]),
        ("/step", {"action": {"direction": "left", "amount": 1}, "timeout_s": 0}, ["body", "timeout_s"]),
        ("/step", {"action": {"direction": "left", "amount": 1}, "request_id": 7}, ["body", "request_id"]),
    ],
)
def test_invalid_requests_get_422(http: httpx.Client, path: str, body, first_loc) -> None:
    if isinstance(body, str):
        response = http.post(path, content=body, headers={"content-type": "application/json"})
    else:
        response = http.post(path, json=body)
    assert response.status_code == 422
    payload = response.json()
    assert is_valid("HttpValidationError", payload), payload
    assert payload["detail"][0]["loc"] == first_loc


def test_environment_failure_is_500_json(http: httpx.Client) -> None:
    response = http.post("/step", json={"action": {"direction": "right", "amount": 1, "fault": "raise"}})
    assert response.status_code == 500
    body = response.json()
    assert body["type"] == "error" and body["data"]["code"] == "EXECUTION_ERROR"
    assert "secret" not in response.text


def test_unknown_paths_methods_and_sizes(http: httpx.Client, serve: Serve) -> None:
    assert http.get("/nope").status_code == 404 and http.get("/nope").json() == {"detail": "Not Found"}
    wrong = http.get("/reset")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    small = serve(LineEnv, max_message_bytes=2048)
    too_big = httpx.post(f"{small.base_url}/reset", content=b"{" + b" " * 4096 + b"}")
    assert too_big.status_code == 413


def test_mcp_over_http(http: httpx.Client, echo_server: BackgroundServer) -> None:
    mcp = f"{echo_server.base_url}/mcp"
    init = httpx.post(
        mcp, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}
    )
    assert init.json()["result"]["protocolVersion"] == "2025-06-18"
    assert init.json()["result"]["capabilities"]["tools"] == {"listChanged": False}
    note = httpx.post(mcp, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert note.status_code == 202 and note.content == b""  # OE-MCP-004
    unknown_note = httpx.post(mcp, json={"jsonrpc": "2.0", "method": "no/such"})
    assert unknown_note.status_code == 202 and unknown_note.content == b""
    parse = httpx.post(mcp, content=b"{bad", headers={"content-type": "application/json"})
    assert parse.status_code == 200 and parse.json()["error"]["code"] == -32700 and parse.json()["id"] is None
    batch = httpx.post(mcp, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    assert batch.json()["error"]["code"] == -32600
    ping = httpx.post(mcp, json={"jsonrpc": "2.0", "id": "p", "method": "ping"}).json()
    assert ping == {"jsonrpc": "2.0", "id": "p", "result": {}}
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo_message", "arguments": {"message": "m"}},
    }
    result = httpx.post(mcp, json=call).json()
    assert is_valid("JsonRpcSuccessResponse", result) and result["result"]["content"][0]["text"] == "m"
    missing_name = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}}
    assert httpx.post(mcp, json=missing_name).json()["error"]["code"] == -32602
    no_tools = http.post("/mcp", json={"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "x"}})
    assert no_tools.json()["error"]["code"] == -32601


def test_openapi_document_is_valid_and_typed(http: httpx.Client) -> None:
    from openapi_spec_validator import validate

    document = http.get("/openapi.json").json()
    validate(document)  # raises on an invalid document
    assert document["info"]["version"].startswith("1.")  # OE-HTTP-007
    assert set(document["paths"]) == {"/health", "/metadata", "/schema", "/reset", "/step", "/state", "/mcp"}
    action = document["components"]["schemas"]["Action"]
    assert action["properties"]["direction"]["enum"] == ["left", "right"]


def test_manifest_drives_identity_and_limits(serve: Serve, tmp_path) -> None:
    manifest = tmp_path / "openenv.yaml"
    manifest.write_text(
        "spec_version: 1\nname: line_env\nversion: 2.1.0\ndescription: A line walk.\n"
        "limits: {max_sessions: 3, step_timeout_s: 7}\ntasks: [{name: walk, split: train}]\n"
    )
    server = serve(LineEnv, manifest=manifest)
    metadata = httpx.get(f"{server.base_url}/metadata").json()
    assert (metadata["name"], metadata["version"], metadata["description"]) == ("line_env", "2.1.0", "A line walk.")
    assert metadata["limits"]["max_sessions"] == 3 and metadata["limits"]["step_timeout_s"] == 7
    assert metadata["capabilities"]["tasks"] is True


def test_non_finite_reward_over_http_is_500(http: httpx.Client) -> None:
    response = http.post("/step", json={"action": {"direction": "right", "amount": 1, "fault": "nan"}})
    assert response.status_code == 500 and response.json()["data"]["code"] == "EXECUTION_ERROR"
