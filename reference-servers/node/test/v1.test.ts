/**
 * The v1 extensions (spec/versioning.md) on a real server: negotiation, hello, request ids,
 * terminated/truncated, episode-state enforcement, strict reset parameters, error locations.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";

import WebSocket from "ws";

import type { RunningServer } from "../src/server.js";
import { Client, http, serve } from "./helpers.js";

describe("v1 extensions", () => {
  let echo: RunningServer;
  let grid: RunningServer;
  before(async () => {
    [echo, grid] = await Promise.all([serve("echo"), serve("gridworld", { max_sessions: 5, idle_timeout_s: 30 })]);
  });
  after(async () => Promise.all([echo.close(), grid.close()]));

  it("selects openenv.v1 only when offered (OE-V1-002/003/004)", async () => {
    const both = await Client.open(echo, { protocols: ["openenv.v2", "openenv.v1", "x-other"] });
    assert.equal(both.protocol, "openenv.v1");
    assert.equal((await both.next()).type, "session");
    await both.close();
    // Only unknown tokens: the handshake still succeeds (101) and selects nothing. (The `ws` client
    // then gives up by itself, so the 101 is read from its `upgrade` event.)
    const ws = new WebSocket(`ws://127.0.0.1:${echo.port}/ws`, ["x-other"]);
    const failed = once(ws, "error");
    const [response] = (await once(ws, "upgrade")) as [IncomingMessage];
    assert.equal(response.statusCode, 101);
    assert.equal(response.headers["sec-websocket-protocol"], undefined);
    assert.match(String((await failed)[0]), /no subprotocol/);
    const base = await Client.open(echo);
    assert.equal((await base.request({ type: "state" })).type, "state", "without v1 the first frame is a reply");
    await base.close();
  });

  it("sends the hello frame first, with the advertised limits (OE-V1-010/011, OE-LIM-002)", async () => {
    const client = await Client.open(grid, { v1: true });
    const hello = await client.next();
    const metadata = (await http(grid, "GET", "/metadata")).json();
    assert.equal(hello.type, "session");
    assert.deepEqual(Object.keys(hello).sort(), ["data", "type"]);
    assert.equal(hello.data.protocol, "openenv.v1");
    assert.match(hello.data.session_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(hello.data.limits, metadata.limits);
    assert.deepEqual(metadata.limits, { max_message_bytes: 16777216, step_timeout_s: 60, idle_timeout_s: 30, max_sessions: 5 });
    assert.deepEqual(metadata.protocols, ["openenv.v1"]);
    const other = await Client.open(grid, { v1: true });
    assert.notEqual((await other.next()).data.session_id, hello.data.session_id);
    await Promise.all([client.close(), other.close()]);
  });

  it("echoes request ids on replies and errors, never invents one (OE-V1-021/022/023)", async () => {
    const client = await Client.open(grid, { v1: true });
    await client.next();
    const reset = await client.request({ type: "reset", id: "r-1", data: { seed: 3 } });
    assert.equal(reset.id, "r-1");
    assert.deepEqual(Object.keys(reset), ["type", "id", "data"]);
    assert.equal((await client.request({ type: "state", id: 9007199254740991 })).id, 9007199254740991);
    const noId = await client.request({ type: "state" });
    assert.ok(!("id" in noId));
    const invalidStep = await client.request({ type: "step", id: 0, data: { direction: "up" } });
    assert.equal(invalidStep.id, 0);
    assert.deepEqual(invalidStep.data.errors[0].loc, ["data", "direction"], "loc from the frame root (OE-ERR-006)");
    assert.equal((await client.request({ type: "nope", id: "u" })).id, "u");
    for (const bad of [-1, 1.5, "", "x".repeat(129), true, null, [1], 2 ** 53]) {
      const reply = await client.request({ type: "state", id: bad });
      assert.equal(reply.data.code, "VALIDATION_ERROR", JSON.stringify(bad));
      assert.deepEqual(reply.data.errors[0].loc, ["id"]);
      assert.ok(!("id" in reply));
    }
    await client.close();
  });

  it("enforces the episode state and reports terminated/truncated (OE-V1-030/050/051/052)", async () => {
    const client = await Client.open(grid, { v1: true });
    await client.next();
    const early = await client.request({ type: "step", id: 1, data: { direction: "north" } });
    assert.deepEqual([early.id, early.data.code], [1, "EPISODE_NOT_STARTED"]);
    assert.equal((await client.request({ type: "state" })).data.step_count, 0);
    const reset = await client.request({ type: "reset", data: { seed: 11, max_steps: 1 } });
    assert.deepEqual([reset.data.terminated, reset.data.truncated, reset.data.done], [false, false, false]);
    const last = await client.request({ type: "step", data: { direction: "north" } });
    assert.equal(last.data.done, true);
    assert.equal(last.data.done, last.data.terminated || last.data.truncated);
    const ended = await client.request({ type: "step", id: "late", data: { direction: "north" } });
    assert.deepEqual([ended.id, ended.data.code], ["late", "EPISODE_ENDED"]);
    assert.equal((await client.request({ type: "state" })).data.step_count, 1, "refused steps are not counted");
    assert.equal((await client.request({ type: "mcp", data: { jsonrpc: "2.0", id: 1, method: "ping" } })).type, "mcp");
    const again = await client.request({ type: "reset", data: { seed: 11, max_steps: 1 } });
    assert.deepEqual(again.data.observation, reset.data.observation, "same seed, same observation");
    assert.equal((await client.request({ type: "step", data: { direction: "north" } })).type, "observation");
    await client.close();
  });

  it("rejects bad or unknown reset parameters, passes environment faults as EXECUTION_ERROR (OE-WS-012, OE-ERR-009)", async () => {
    const client = await Client.open(grid, { v1: true });
    await client.next();
    const unknown = await client.request({ type: "reset", data: { seed: 1, difficulty: "hard" } });
    assert.equal(unknown.data.code, "VALIDATION_ERROR");
    assert.deepEqual(unknown.data.errors[0].loc, ["data", "difficulty"]);
    for (const data of [{ seed: -1 }, { seed: 2 ** 53 }, { seed: "7" }, { seed: 1.5 }, { episode_id: "" }, { episode_id: "e".repeat(256) }]) {
      assert.equal((await client.request({ type: "reset", data })).data.code, "VALIDATION_ERROR", JSON.stringify(data));
    }
    const fault = await client.request({ type: "reset", id: 5, data: { width: 2 } });
    assert.deepEqual([fault.id, fault.data.code], [5, "EXECUTION_ERROR"]);
    assert.match(fault.data.message, /width must be an int in \[4, 32\], got 2/);
    const strictType = await client.request({ type: "reset", data: { seed: 1 } });
    assert.equal(strictType.type, "observation");
    const stringDirection = await client.request({ type: "step", data: { direction: 1 } });
    assert.equal(stringDirection.data.code, "VALIDATION_ERROR", "strict action typing (OE-GEN-015)");
    await client.close();
  });

  it("never sends v1 members on a base-level connection (OE-V1-032/090/091)", async () => {
    const client = await Client.open(grid);
    const reset = await client.request({ type: "reset", data: { seed: 11, max_steps: 1, unknown_param: 1 } });
    assert.deepEqual(Object.keys(reset.data), ["observation", "reward", "done", "metadata"], "unknown reset params dropped");
    assert.equal((await client.request({ type: "step", data: { direction: "north" } })).data.done, true);
    const ended = await client.request({ type: "step", data: { direction: "north" } });
    assert.deepEqual(ended, {
      type: "error",
      data: { message: "the episode has ended: call reset", code: "EXECUTION_ERROR" },
    });
    await client.close();
  });
});
