/**
 * Limits and server-initiated closes (spec/limits.md, spec/errors.md) on a real server: capacity
 * refused before the upgrade, prompt slot release, message size, idle and step timeouts, factory
 * failures, non-finite rewards, oversized replies, attach refusal and shutdown.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Client, http, refusedHandshake, serve, within } from "./helpers.js";
import { probe } from "./testenvs.js";

describe("capacity", () => {
  it("refuses with 503, Retry-After and an error-frame body before the upgrade (OE-LIM-012, OE-V1-070)", async () => {
    const server = await serve("echo", { max_sessions: 1 });
    try {
      const first = await Client.open(server, { v1: true });
      await first.next();
      for (const protocols of [["openenv.v1"], []]) {
        const refused = await refusedHandshake(server, protocols);
        assert.equal(refused.status, 503);
        assert.equal(refused.headers["retry-after"], "1");
        assert.match(String(refused.headers["content-type"]), /^application\/json/);
        assert.deepEqual(JSON.parse(refused.body), {
          type: "error",
          data: {
            message: "Server at capacity: 1/1 sessions active. Retry later.",
            code: "CAPACITY_REACHED",
            active_sessions: 1,
            max_sessions: 1,
          },
        });
      }
      assert.deepEqual((await http(server, "GET", "/health")).json(), { status: "healthy", active_sessions: 1, max_sessions: 1 });
      assert.equal((await http(server, "POST", "/reset", "{}")).status, 503, "HTTP simulation counts too");
      // the slot is free as soon as the closing handshake completes (OE-LIM-014)
      for (let i = 0; i < 5; i++) {
        const current = i === 0 ? first : await Client.open(server, { v1: true });
        if (i > 0) await current.next();
        current.send({ type: "close" });
        assert.equal((await current.closed).code, 1000);
      }
      const again = await Client.open(server);
      await again.close();
      const third = await Client.open(server);
      third.ws.terminate(); // TCP drop without a close frame also frees the slot (OE-GEN-002)
      await third.closed;
      await within(
        (async () => {
          while (server.activeSessions() !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
        })(),
      );
    } finally {
      await server.close();
    }
  });

  it("answers an upgrade on another path with 404 JSON", async () => {
    const server = await serve("echo");
    try {
      const refused = await refusedHandshake(server, [], "/other");
      assert.equal(refused.status, 404);
      assert.deepEqual(JSON.parse(refused.body), { detail: "Not Found" });
      assert.equal(server.activeSessions(), 0);
    } finally {
      await server.close();
    }
  });
});

describe("message size", () => {
  const limit = 4096;

  it("accepts a message of exactly max_message_bytes, refuses a larger one with MESSAGE_TOO_LARGE and 1009 at v1 (OE-LIM-004/006)", async () => {
    const server = await serve("echo", { max_message_bytes: limit });
    try {
      const client = await Client.open(server, { v1: true });
      await client.next();
      const prefix = '{"type":"step","data":{"tool_name":"echo_message","arguments":{"message":"';
      const suffix = '"}}}';
      const exact = prefix + "a".repeat(limit - prefix.length - suffix.length) + suffix;
      assert.equal(Buffer.byteLength(exact), limit);
      assert.equal((await client.request(exact)).type, "error", "EPISODE_NOT_STARTED: the frame was read");
      client.send("x".repeat(limit + 1));
      const error = await client.next();
      assert.equal(error.data.code, "MESSAGE_TOO_LARGE");
      assert.ok(!("id" in error));
      assert.equal((await client.closed).code, 1009);
      await within((async () => {
        while (server.activeSessions() !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })());
    } finally {
      await server.close();
    }
  });

  it("closes with 1009 and no error frame at base level (OE-LIM-005)", async () => {
    const server = await serve("echo", { max_message_bytes: limit });
    try {
      const client = await Client.open(server);
      client.send("x".repeat(limit + 1));
      assert.equal((await client.closed).code, 1009);
      assert.deepEqual(client.frames, []);
    } finally {
      await server.close();
    }
  });

  it("replaces a reply over the limit with EXECUTION_ERROR (OE-LIM-007)", async () => {
    const server = await serve(probe("huge"), { max_message_bytes: limit });
    try {
      const client = await Client.open(server, { v1: true });
      await client.next();
      await client.request({ type: "reset" });
      const small = await client.request({ type: "step", id: 1, data: { bytes: 100 } });
      assert.equal(small.type, "observation");
      const big = await client.request({ type: "step", id: 2, data: { bytes: limit } });
      assert.deepEqual([big.id, big.data.code], [2, "EXECUTION_ERROR"]);
      assert.match(big.data.message, /max_message_bytes/);
      assert.equal((await client.request({ type: "state" })).type, "state", "session stays open");
      await client.close();
      assert.equal((await http(server, "POST", "/step", JSON.stringify({ action: {}, pad: "y".repeat(limit) }))).status, 413);
    } finally {
      await server.close();
    }
  });
});

describe("timeouts and failures", () => {
  it("closes an idle session: IDLE_TIMEOUT + 1001 at v1, bare 1001 at base (OE-LIM-009)", async () => {
    const server = await serve("echo", { idle_timeout_s: 0.3 });
    try {
      const v1 = await Client.open(server, { v1: true });
      const base = await Client.open(server);
      const started = Date.now();
      await v1.next();
      const [v1Closed, baseClosed] = await Promise.all([v1.closed, base.closed]);
      assert.ok(Date.now() - started >= 250);
      assert.equal(JSON.parse(v1.frames[0] as string).data.code, "IDLE_TIMEOUT");
      assert.equal(v1Closed.code, 1001);
      assert.equal(baseClosed.code, 1001);
      assert.deepEqual(base.frames, []);
    } finally {
      await server.close();
    }
  });

  it("keeps a session that sends frames alive past idle_timeout_s", async () => {
    const server = await serve("echo", { idle_timeout_s: 0.3 });
    try {
      const client = await Client.open(server);
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal((await client.request({ type: "state" })).type, "state");
      }
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("answers a step over step_timeout_s, then closes 1011 and frees the slot (OE-LIM-008)", async () => {
    const server = await serve(probe("slow"), { step_timeout_s: 0.2, max_sessions: 1 });
    try {
      const v1 = await Client.open(server, { v1: true });
      await v1.next();
      await v1.request({ type: "reset" });
      assert.equal((await v1.request({ type: "step", data: { ms: 10 } })).type, "observation");
      const timedOut = await v1.request({ type: "step", id: 7, data: { ms: 600 } });
      assert.deepEqual([timedOut.id, timedOut.data.code], [7, "STEP_TIMEOUT"]);
      assert.equal((await v1.closed).code, 1011);
      const base = await Client.open(server);
      await base.request({ type: "reset" });
      const baseTimeout = await base.request({ type: "step", data: { ms: 600 } });
      assert.equal(baseTimeout.data.code, "EXECUTION_ERROR");
      assert.equal((await base.closed).code, 1011);
    } finally {
      await server.close();
    }
  });

  it("reports a failing factory with FACTORY_ERROR and 1011 (OE-ERR-013)", async () => {
    const server = await serve(probe("slow", true));
    try {
      const client = await Client.open(server, { v1: true });
      const error = await client.next();
      assert.deepEqual(error.data, {
        message: "the environment could not be created (Error)",
        code: "FACTORY_ERROR",
        factory_name: "probe_slow",
      });
      assert.equal((await client.closed).code, 1011);
      assert.equal(server.activeSessions(), 0);
    } finally {
      await server.close();
    }
  });

  it("never sends a non-finite reward or an internal error text (OE-V1-041, OE-SEC-003)", async () => {
    for (const [behaviour, pattern] of [["nan", /non-finite reward/], ["boom", /^step failed in the environment \(Error\)$/]] as const) {
      const server = await serve(probe(behaviour));
      try {
        for (const v1 of [true, false]) {
          const client = await Client.open(server, { v1 });
          if (v1) await client.next();
          await client.request({ type: "reset" });
          const reply = await client.request({ type: "step", data: {} });
          assert.equal(reply.data.code, "EXECUTION_ERROR");
          assert.match(reply.data.message, pattern);
          assert.equal((await client.request({ type: "state" })).data.step_count, 1, "session and state kept (OE-ERR-011)");
          await client.close();
        }
        const viaHttp = await http(server, "POST", "/step", '{"action":{}}');
        assert.equal(viaHttp.status, 500);
        assert.equal(viaHttp.json().data.code, "EXECUTION_ERROR");
      } finally {
        await server.close();
      }
    }
  });

  it("refuses to attach by session_id with SESSION_ERROR and 1008 (OE-WS-029)", async () => {
    const server = await serve("echo");
    try {
      const client = await Client.open(server, { v1: true, path: "/ws?session_id=abc" });
      assert.equal((await client.next()).data.code, "SESSION_ERROR");
      assert.equal((await client.closed).code, 1008);
    } finally {
      await server.close();
    }
  });

  it("closes every session with 1001 on shutdown (OE-WS-030)", async () => {
    const server = await serve("echo");
    const client = await Client.open(server, { v1: true });
    await client.next();
    await server.close();
    assert.equal((await client.closed).code, 1001);
  });
});
