/**
 * Core lifecycle on a real server over loopback: base level (what 0.10 speaks), the echo
 * environment's observation shapes, envelope errors that keep the session open, and `mcp` frames.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { RunningServer } from "../src/server.js";
import { Client, serve } from "./helpers.js";

const READY = { status: "ready", message: "Echo environment ready!" };

describe("base level, echo environment", () => {
  let server: RunningServer;
  before(async () => {
    server = await serve("echo");
  });
  after(async () => server.close());

  it("runs reset, step, state and close like 0.10 (OE-WS-011..016, OE-GEN-006)", async () => {
    const client = await Client.open(server);
    assert.equal(client.protocol, "");
    const reset = await client.request({ type: "reset", data: { seed: 1, episode_id: "ep-1", extra: true } });
    assert.deepEqual(reset, {
      type: "observation",
      data: { observation: { metadata: READY }, reward: null, done: false, metadata: READY },
    });
    const call = await client.request({
      type: "step",
      data: { type: "call_tool", tool_name: "echo_message", arguments: { message: "hi" } },
    });
    assert.equal(
      JSON.stringify(call),
      '{"type":"observation","data":{"observation":{"metadata":{},"tool_name":"echo_message","result":{"content":[{"type":"text","text":"hi"}],"structured_content":{"result":"hi"},"data":"hi","is_error":false},"error":null},"reward":null,"done":false}}',
    );
    const withLength = await client.request({
      type: "step",
      data: { tool_name: "echo_with_length", arguments: { message: "héllo" } },
    });
    assert.deepEqual(withLength.data.observation.result, {
      content: [{ type: "text", text: '{"message":"h\\u00e9llo","length":5}' }],
      structured_content: { message: "héllo", length: 5 },
      data: { message: "héllo", length: 5 },
      is_error: false,
    });
    const tools = await client.request({ type: "step", data: { type: "list_tools" } });
    assert.deepEqual(
      tools.data.observation.tools.map((tool: { name: string }) => tool.name),
      ["echo_message", "echo_with_length"],
    );
    assert.ok("input_schema" in tools.data.observation.tools[0], "step tool list uses input_schema (OE-MCP-016)");
    const bad = await client.request({ type: "step", data: { tool_name: "nope" } });
    assert.deepEqual(bad.data.observation.error, { error_type: "tool_not_found", message: "Unknown tool: 'nope'" });
    const state = await client.request({ type: "state" });
    assert.deepEqual(state, { type: "state", data: { episode_id: "ep-1", step_count: 4 } });
    client.send({ type: "close" });
    assert.deepEqual(await client.closed, { code: 1000, reason: "" });
  });

  it("answers bad frames with errors and keeps the session (OE-WS-005..009)", async () => {
    const client = await Client.open(server);
    client.ws.send(Buffer.from("binary"), { binary: true });
    assert.equal((await client.next()).data.code, "INVALID_JSON");
    for (const text of [
      "{not json",
      "NaN",
      '{"type":"reset","data":{"x":Infinity}}',
      '{"type":"reset","data":{"x":1e400}}',
      '{"type":"reset","type":"state"}',
      '{"type":"reset","data":{"a":[{"b":1,"\\u0062":2}]}}',
    ]) {
      const reply = await client.request(text);
      assert.equal(reply.data.code, "INVALID_JSON", text);
    }
    for (const text of ["[1,2,3]", '"reset"', "42", "null"]) {
      const reply = await client.request(text);
      assert.equal(reply.data.code, "VALIDATION_ERROR", text);
      assert.ok(reply.data.errors.length >= 1);
    }
    assert.deepEqual(await client.request({ type: "frobnicate" }), {
      type: "error",
      data: { message: "Unknown message type: frobnicate", code: "UNKNOWN_TYPE" },
    });
    assert.equal((await client.request({ data: {} })).data.code, "UNKNOWN_TYPE");
    assert.equal((await client.request({ type: "RESET" })).data.code, "UNKNOWN_TYPE");
    const withId = await client.request({ type: "reset", data: {}, id: 1 });
    assert.equal(withId.data.code, "VALIDATION_ERROR", "id is not allowed at base level");
    assert.deepEqual(withId.data.errors[0].loc, ["id"]);
    assert.ok(!("id" in withId));
    assert.deepEqual((await client.request({ type: "step" })).data.errors[0].loc, ["data"]);
    assert.equal((await client.request({ type: "step", data: "str" })).data.code, "VALIDATION_ERROR");
    assert.equal((await client.request({ type: "state", data: {} })).data.code, "VALIDATION_ERROR");
    const badAction = await client.request({ type: "step", data: { type: "call_tool" } });
    assert.equal(badAction.data.code, "VALIDATION_ERROR");
    assert.deepEqual(badAction.data.errors[0].loc, ["tool_name"], "base-level loc is relative to the action");
    const badSeed = await client.request({ type: "reset", data: { seed: -1 } });
    assert.equal(badSeed.data.code, "VALIDATION_ERROR");
    assert.deepEqual(await client.request({ type: "state" }), {
      type: "state",
      data: { episode_id: null, step_count: 0 },
    }, "rejected frames changed nothing (OE-WS-010)");
    const nested = await client.request('{"type":"reset","data":{"a":{"b":1,"c":[{"b":2},{"b":3}]},"b":"\\"b\\""}}');
    assert.equal(nested.type, "observation", "equal names in different objects are fine");
    // base level passes a step before reset to the environment (OE-GEN-007)
    const early = await client.request({ type: "step", data: { tool_name: "echo_message", arguments: { message: "x" } } });
    assert.equal(early.type, "observation");
    await client.close();
  });

  it("serves JSON-RPC in mcp frames (OE-MCP-001..022)", async () => {
    const client = await Client.open(server);
    const list = await client.request({ type: "mcp", data: { jsonrpc: "2.0", id: 1, method: "tools/list" } });
    assert.equal(list.type, "mcp");
    assert.deepEqual(list.data.result.tools[0], {
      name: "echo_message",
      description: "Echo back the provided message.",
      inputSchema: {
        additionalProperties: false,
        properties: { message: { type: "string" } },
        required: ["message"],
        type: "object",
      },
    });
    const callFrame = {
      type: "mcp",
      data: { jsonrpc: "2.0", id: "abc", method: "tools/call", params: { name: "echo_with_length", arguments: { message: "abc" } } },
    };
    const call = await client.request(callFrame);
    assert.deepEqual(call.data, {
      jsonrpc: "2.0",
      id: "abc",
      result: {
        content: [{ type: "text", text: '{"message":"abc","length":3}' }],
        isError: false,
        structuredContent: { message: "abc", length: 3 },
        structured_content: { message: "abc", length: 3 },
        is_error: false,
        data: { message: "abc", length: 3 },
      },
    });
    // a notification gets no reply: the next reply answers the ping
    client.send({ type: "mcp", data: { jsonrpc: "2.0", method: "notifications/initialized" } });
    client.send({ type: "mcp", data: { jsonrpc: "2.0", method: "no/such/method" } });
    assert.deepEqual((await client.request({ type: "mcp", data: { jsonrpc: "2.0", id: 2, method: "ping" } })).data, {
      jsonrpc: "2.0",
      id: 2,
      result: {},
    });
    const init = await client.request({
      type: "mcp",
      data: { jsonrpc: "2.0", id: 3, method: "initialize", params: { protocolVersion: "2025-06-18" } },
    });
    assert.equal(init.data.result.protocolVersion, "2025-06-18");
    assert.equal(typeof init.data.result.capabilities.tools, "object");
    const codes = async (data: unknown): Promise<number> => (await client.request({ type: "mcp", data })).data.error.code;
    assert.equal(await codes({ jsonrpc: "2.0", id: 4, method: "resources/list" }), -32601);
    assert.equal(await codes({ jsonrpc: "2.0", id: 5, method: "openenv/session/create" }), -32601);
    assert.equal(await codes({ jsonrpc: "1.0", id: 6, method: "tools/list" }), -32600);
    assert.equal(await codes({ jsonrpc: "2.0", id: 7, method: "tools/list", params: [] }), -32600);
    assert.equal(await codes({ jsonrpc: "2.0", id: true, method: "ping" }), -32600);
    assert.equal(await codes({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { arguments: {} } }), -32602);
    assert.equal(await codes({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "nope" } }), -32602);
    assert.equal(
      await codes({ jsonrpc: "2.0", id: 10, method: "tools/call", params: { name: "echo_message", arguments: { message: 1 } } }),
      -32602,
    );
    assert.deepEqual(await client.request({ type: "state" }), {
      type: "state",
      data: { episode_id: null, step_count: 0 },
    }, "tool calls are not steps (OE-MCP-017)");
    await client.close();
  });

  it("gives every connection its own environment (OE-GEN-001)", async () => {
    const a = await Client.open(server);
    const b = await Client.open(server);
    await a.request({ type: "reset", data: { episode_id: "a" } });
    await b.request({ type: "reset", data: { episode_id: "b" } });
    await a.request({ type: "step", data: { type: "list_tools" } });
    assert.deepEqual((await a.request({ type: "state" })).data, { episode_id: "a", step_count: 1 });
    assert.deepEqual((await b.request({ type: "state" })).data, { episode_id: "b", step_count: 0 });
    await Promise.all([a.close(), b.close()]);
  });

  it("answers pipelined frames in order (OE-WS-023)", async () => {
    const client = await Client.open(server);
    client.send({ type: "reset", data: { episode_id: "p" } });
    for (let i = 0; i < 40; i++) {
      client.send({ type: "step", data: { tool_name: "echo_message", arguments: { message: `m${i}` } } });
    }
    client.send({ type: "state" });
    assert.equal((await client.next()).type, "observation");
    for (let i = 0; i < 40; i++) {
      assert.equal((await client.next()).data.observation.result.data, `m${i}`);
    }
    assert.deepEqual((await client.next()).data, { episode_id: "p", step_count: 40 });
    await client.close();
  });
});
