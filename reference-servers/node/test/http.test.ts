/**
 * The HTTP surface (spec/http.md, spec/mcp.md) of a real server: discovery, stateless simulation,
 * validation errors, unknown paths and methods, body limits and `POST /mcp`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { RunningServer } from "../src/server.js";
import { http, serve } from "./helpers.js";

describe("HTTP endpoints", () => {
  let echo: RunningServer;
  let grid: RunningServer;
  before(async () => {
    [echo, grid] = await Promise.all([serve("echo", { max_message_bytes: 2048 }), serve("gridworld")]);
  });
  after(async () => Promise.all([echo.close(), grid.close()]));

  it("serves /health, /metadata, /schema and /openapi.json (OE-HTTP-001..007)", async () => {
    assert.deepEqual((await http(echo, "GET", "/health")).json(), { status: "healthy", active_sessions: 0, max_sessions: 64 });
    const metadata = await http(grid, "GET", "/metadata");
    assert.equal(metadata.status, 200);
    assert.match(metadata.headers.get("content-type") ?? "", /^application\/json/);
    const body = metadata.json();
    assert.equal(body.name, "gridworld_env");
    assert.equal(body.version, "1.0.0");
    for (const key of ["readme_content", "author", "documentation_url"]) assert.equal(body[key], null);
    assert.deepEqual(body.capabilities, { mcp: false, http_simulation: true, tasks: false });
    const schema = (await http(grid, "GET", "/schema")).json();
    assert.deepEqual(Object.keys(schema).sort(), ["action", "observation", "reset_observation", "state"]);
    assert.deepEqual(schema.action.properties.direction.enum, ["north", "south", "east", "west"]);
    const openapi = (await http(grid, "GET", "/openapi.json")).json();
    assert.match(openapi.info.version, /^1\./);
    assert.ok("/reset" in openapi.paths);
  });

  it("runs stateless /reset, /step and /state (OE-HTTP-010..017)", async () => {
    const reset = await http(grid, "POST", "/reset", JSON.stringify({ seed: 42, episode_id: "e1", unknown: 1 }));
    assert.equal(reset.status, 200);
    assert.equal(
      reset.text,
      '{"observation":{"metadata":{"seed":42},"board":"#.X.....\\n#.......\\nX#.....X\\n..##....\\n........\\n..###A..\\n....#..#\\n.##...G.\\n","agent":[5,5],"goal":[7,6],"width":8,"height":8,"steps_taken":0,"steps_left":50,"distance_to_goal":3,"event":"start"},"reward":null,"done":false,"metadata":{"seed":42}}',
    );
    assert.equal((await http(grid, "POST", "/reset", "")).status, 200, "empty body");
    assert.equal((await http(echo, "POST", "/reset")).json().metadata.status, "ready");
    const step = await http(grid, "POST", "/step", JSON.stringify({ action: { direction: "north" }, timeout_s: 5, request_id: "r" }));
    assert.equal(step.status, 200);
    assert.equal(step.json().observation.steps_taken, 1);
    assert.equal(typeof step.json().reward, "number");
    assert.deepEqual((await http(grid, "GET", "/state")).json(), { episode_id: null, step_count: 0, seed: null, total_reward: 0 });
    assert.equal((await http(grid, "GET", "/state")).text, '{"episode_id":null,"step_count":0,"seed":null,"total_reward":0.0}');
    const tool = await http(echo, "POST", "/step", JSON.stringify({ action: { type: "call_tool", tool_name: "echo_message", arguments: { message: "http" } } }));
    assert.equal(tool.json().observation.result.data, "http");
    assert.equal(tool.json().metadata, null);
  });

  it("answers invalid bodies with 422 detail lists (OE-HTTP-020/022, OE-GEN-012)", async () => {
    const cases: [string, string, (string | number)[]][] = [
      ["/reset", '{"seed": -1}', ["body", "seed"]],
      ["/reset", '{"episode_id": 5}', ["body", "episode_id"]],
      ["/reset", "[1]", ["body"]],
      ["/reset", "{bad", ["body"]],
      ["/reset", '{"seed": NaN}', ["body"]],
      ["/step", "{}", ["body", "action"]],
      ["/step", '{"action": 3}', ["body", "action"]],
      ["/step", '{"action": {"direction": "up"}}', ["body", "action", "direction"]],
      ["/step", '{"action": {"direction": "north", "speed": 2}}', ["body", "action", "speed"]],
      ["/step", '{"action": {"direction": "north"}, "timeout_s": 0}', ["body", "timeout_s"]],
      ["/step", "", ["body"]],
    ];
    for (const [path, body, loc] of cases) {
      const reply = await http(grid, "POST", path, body);
      assert.equal(reply.status, 422, `${path} ${body}`);
      const detail = reply.json().detail;
      assert.ok(Array.isArray(detail) && detail.length >= 1);
      assert.deepEqual(detail[0].loc, loc, `${path} ${body}`);
      for (const item of detail) assert.deepEqual(Object.keys(item).slice(0, 3), ["type", "loc", "msg"]);
    }
    const fault = await http(grid, "POST", "/reset", '{"width": 99}');
    assert.equal(fault.status, 500);
    assert.equal(fault.json().data.code, "EXECUTION_ERROR");
  });

  it("answers unknown paths 404, wrong methods 405 and oversized bodies 413 (OE-HTTP-025)", async () => {
    const missing = await http(echo, "GET", "/nonexistent");
    assert.deepEqual([missing.status, missing.json()], [404, { detail: "Not Found" }]);
    assert.equal((await http(echo, "GET", "/ws")).status, 404);
    const wrong = await http(echo, "GET", "/reset");
    assert.deepEqual([wrong.status, wrong.json()], [405, { detail: "Method Not Allowed" }]);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal((await http(echo, "DELETE", "/health")).status, 405);
    const big = await http(echo, "POST", "/reset", JSON.stringify({ pad: "x".repeat(4096) }));
    assert.equal(big.status, 413);
    assert.ok("detail" in big.json());
    // a body far over the limit (but under 4x) is drained, so the client still reads the 413
    const bigger = await http(echo, "POST", "/mcp", JSON.stringify({ pad: "x".repeat(8000) }));
    assert.equal(bigger.status, 413);
    assert.equal((await http(echo, "GET", "/health")).status, 200);
  });

  it("serves JSON-RPC on POST /mcp (OE-MCP-003..008)", async () => {
    const call = await http(echo, "POST", "/mcp", JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo_message", arguments: { message: "m" } } }));
    assert.equal(call.status, 200);
    assert.deepEqual(call.json().result.structuredContent, { result: "m" });
    const note = await http(echo, "POST", "/mcp", JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    assert.deepEqual([note.status, note.text], [202, ""]);
    const badNote = await http(echo, "POST", "/mcp", JSON.stringify({ jsonrpc: "2.0", method: "tools/call", params: {} }));
    assert.deepEqual([badNote.status, badNote.text], [202, ""], "even a failing notification gets no response");
    const parse = await http(echo, "POST", "/mcp", "{bad");
    assert.deepEqual([parse.status, parse.json()], [200, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }]);
    const batch = await http(echo, "POST", "/mcp", "[]");
    assert.deepEqual([batch.json().id, batch.json().error.code], [null, -32600]);
    const notes = await http(echo, "POST", "/mcp", '[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]');
    assert.deepEqual([notes.status, notes.text], [202, ""], "a batch of notifications only (OE-MCP-009)");
    const malformed = await http(echo, "POST", "/mcp", '{"jsonrpc":"1.0","method":"tools/list"}');
    assert.deepEqual([malformed.json().id, malformed.json().error.code], [null, -32600], "not a notification (OE-MCP-003)");
    const discover = await http(echo, "POST", "/mcp", '{"jsonrpc":"2.0","id":7,"method":"server/discover"}');
    assert.equal(discover.json().error.code, -32601, "MCP 2026-07-28 is not served here");
    const missing = await http(echo, "POST", "/mcp", '{"jsonrpc":"2.0","id":3}');
    assert.deepEqual([missing.json().id, missing.json().error.code], [3, -32600]);
    const duplicate = await http(echo, "POST", "/mcp", '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}');
    assert.equal(duplicate.json().error.code, -32700, "duplicate member names are invalid JSON (OE-GEN-014)");
    assert.equal((await http(grid, "POST", "/reset", '{"seed":1,"seed":2}')).status, 422);
    const unknownSession = await http(grid, "POST", "/mcp", '{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"session_id":"zz"}}');
    assert.equal(unknownSession.json().error.code, -32602, "unknown session_id (OE-MCP-033)");
    const noTools = await http(grid, "POST", "/mcp", '{"jsonrpc":"2.0","id":4,"method":"tools/list"}');
    assert.equal(noTools.json().error.code, -32601, "no tools: -32601 (OE-MCP-015)");
    const init = await http(grid, "POST", "/mcp", '{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}');
    assert.equal(init.json().result.protocolVersion, "2025-11-25");
    assert.deepEqual(init.json().result.serverInfo, { name: "gridworld_env", version: "1.0.0" });
  });
});
