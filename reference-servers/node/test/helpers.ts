/**
 * Test helpers: a real server on loopback (in-process, port 0) and a frame-queue WebSocket client.
 */
import { once } from "node:events";

import WebSocket from "ws";

import { DEFAULT_LIMITS, type ServerConfig } from "../src/config.js";
import type { EnvironmentDefinition } from "../src/env.js";
import { ENVIRONMENTS } from "../src/envs/index.js";
import type { Limits } from "../src/generated/Limits.js";
import { type RunningServer, startServer } from "../src/server.js";

export const TIMEOUT_MS = 5000;

export async function serve(
  env: EnvironmentDefinition | keyof typeof ENVIRONMENTS = "echo",
  limits: Partial<Limits> = {},
): Promise<RunningServer> {
  const definition = typeof env === "string" ? (ENVIRONMENTS[env] as EnvironmentDefinition) : env;
  const config: ServerConfig = {
    env: definition,
    host: "127.0.0.1",
    port: 0,
    limits: { ...DEFAULT_LIMITS, ...limits },
    retryAfterS: 1,
    pingIntervalS: 30,
  };
  return startServer(config);
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** A WebSocket client that queues every received frame. */
export class Client {
  readonly frames: string[] = [];
  private waiters: ((frame: string | null) => void)[] = [];
  readonly closed: Promise<Closed>;
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: WebSocket.RawData) => {
      const text = (data as Buffer).toString("utf8");
      const waiter = this.waiters.shift();
      if (waiter) waiter(text);
      else this.frames.push(text);
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code: number, reason: Buffer) => {
        this.isClosed = true;
        for (const waiter of this.waiters.splice(0)) waiter(null);
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static async open(server: RunningServer, options: { v1?: boolean; protocols?: string[]; path?: string } = {}): Promise<Client> {
    const protocols = options.protocols ?? (options.v1 ? ["openenv.v1"] : []);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${options.path ?? "/ws"}`, protocols, {
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    const client = new Client(ws);
    await once(ws, "open");
    return client;
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame's text (rejects on close or timeout). */
  async nextText(timeoutMs = TIMEOUT_MS): Promise<string> {
    const queued = this.frames.shift();
    if (queued !== undefined) return queued;
    if (this.isClosed) throw new Error("connection closed");
    const frame = await new Promise<string | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a frame")), timeoutMs);
      this.waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
    if (frame === null) throw new Error("connection closed");
    return frame;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async next(timeoutMs = TIMEOUT_MS): Promise<any> {
    return JSON.parse(await this.nextText(timeoutMs));
  }

  /** Send `frame` and return the parsed reply. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request(frame: unknown): Promise<any> {
    this.send(frame);
    return this.next();
  }

  async close(): Promise<Closed> {
    if (!this.isClosed) this.ws.close(1000);
    return this.closed;
  }
}

/** Await `promise` or fail after `ms`. */
export async function within<T>(promise: Promise<T>, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function http(
  server: RunningServer,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; headers: Headers; text: string; json: () => any }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** The raw HTTP reply to a WebSocket handshake that was refused. */
export async function refusedHandshake(
  server: RunningServer,
  protocols: string[] = ["openenv.v1"],
  path = "/ws",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, protocols);
  ws.on("error", () => undefined);
  const [, response] = (await once(ws, "unexpected-response")) as [unknown, import("node:http").IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  ws.terminate();
  return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() };
}
