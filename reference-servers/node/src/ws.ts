/**
 * The `/ws` transport: one accepted WebSocket = one session = one environment instance.
 *
 * Moves messages between the `ws` socket and the sans-I/O `ServerSession`, runs the requests it
 * hands back one at a time in arrival order (OE-WS-023; reading pauses while more than
 * `MAX_QUEUED` wait, OE-LIM-015), and enforces the limits: step timeout (reply, then close 1011,
 * OE-LIM-008), idle timeout (OE-LIM-009), message size (OE-LIM-005/006, via `OpenEnvSocket`).
 * The capacity slot is released before the closing handshake completes (OE-LIM-014): `release`
 * runs inside `OpenEnvSocket.close`, before the close frame goes out, whoever initiated the close.
 */
import { randomUUID } from "node:crypto";

import { type RawData, WebSocket } from "ws";

import type { Environment, EnvironmentDefinition } from "./env.js";
import { log, toWire } from "./faults.js";
import type { Limits } from "./generated/Limits.js";
import { bounded, checkResetParams, StepTimedOut } from "./host.js";
import { handleRpc } from "./mcp.js";
import { CloseCode, type Mode } from "./protocol/codes.js";
import { type Output, type Request, ServerSession } from "./protocol/session.js";

const MAX_QUEUED = 32;

/**
 * A `ws` WebSocket whose `close()` first runs a hook. `ws` itself calls `close()` when the peer
 * sends a close frame, when a message exceeds `maxPayload` (1009) and on a protocol error (1002,
 * 1007); the hook releases the session's capacity slot and, for those last two cases, lets the
 * session send its error frame before the close frame (OE-WS-028, OE-LIM-006).
 */
export class OpenEnvSocket extends WebSocket {
  beforeClose: ((code: number | undefined, peerClosed: boolean) => void) | null = null;

  override close(code?: number, data?: string | Buffer): void {
    const hook = this.beforeClose;
    this.beforeClose = null;
    if (hook !== null) {
      // `ws` marks a received close frame in this (internal) field before answering it.
      const peerClosed = (this as unknown as { _closeFrameReceived?: boolean })._closeFrameReceived === true;
      hook(code, peerClosed);
    }
    super.close(code, data);
  }
}

export interface SessionHost {
  readonly definition: EnvironmentDefinition;
  readonly limits: Limits;
  readonly pingIntervalS: number;
}

/** Serves one accepted connection until it closes; `release` frees the capacity slot once. */
export class WsSession {
  private readonly session: ServerSession;
  private env: Environment | null = null;
  private readonly queue: (Request | { raw: string | null })[] = [];
  private running = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastInbound = Date.now();
  private released = false;

  constructor(
    private readonly host: SessionHost,
    private readonly socket: OpenEnvSocket,
    mode: Mode,
    private readonly releaseSlot: () => void,
  ) {
    this.session = new ServerSession(mode, randomUUID(), host.limits);
  }

  get mode(): Mode {
    return this.session.mode;
  }

  /** Create the environment, greet, and start serving. */
  start(attachId: string | null): void {
    const socket = this.socket;
    socket.beforeClose = (code, peerClosed) => this.onClosing(code, peerClosed);
    socket.on("close", () => this.teardown());
    socket.on("error", () => undefined); // the close handler does the cleanup
    if (attachId !== null) {
      this.write(this.session.closing("SESSION_ERROR", "this server does not support attaching to a session by session_id"));
      return;
    }
    try {
      this.env = this.host.definition.create();
    } catch (error) {
      const wire = toWire(error, "factory");
      this.write(this.session.failure(null, wire.code, wire.message, { factory_name: this.host.definition.name }, true));
      return;
    }
    this.write(this.session.hello());
    socket.on("message", (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    socket.on("pong", () => undefined);
    this.armIdle();
    this.pingTimer = setInterval(() => this.ping(), this.host.pingIntervalS * 1000);
    this.pingTimer.unref();
  }

  /** Close for server shutdown (1001, no error frame: OE-WS-028, OE-WS-030). */
  shutdown(): void {
    if (this.socket.readyState === WebSocket.OPEN) {
      this.session.closed = true;
      this.socket.close(CloseCode.GOING_AWAY, "server shutting down");
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastInbound = Date.now();
    clearTimeout(this.idleTimer);
    if (this.session.closed) return;
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    this.queue.push({ raw: isBinary ? null : buffer.toString("utf8") });
    if (this.queue.length > MAX_QUEUED && !this.socket.isPaused) this.socket.pause();
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.session.closed) {
        const item = this.queue.shift() as { raw: string | null };
        if (this.queue.length <= MAX_QUEUED / 2 && this.socket.isPaused) this.socket.resume();
        const outcome = this.session.receive(item.raw);
        this.write(Array.isArray(outcome) ? outcome : await this.perform(outcome));
      }
    } catch (error) {
      log("session failed:", error);
      this.write(this.session.closing("SESSION_ERROR", "internal session failure; session closed"));
    } finally {
      this.running = false;
      if (!this.session.closed) this.armIdle();
    }
  }

  private async perform(request: Request): Promise<Output[]> {
    const env = this.env as Environment;
    const session = this.session;
    const timeout = this.host.limits.step_timeout_s;
    try {
      switch (request.type) {
        case "reset": {
          const params = checkResetParams(this.host.definition, request.data, session.mode === "v1");
          return session.observation(request, await bounded(() => env.reset(params), timeout, "reset"));
        }
        case "step": {
          this.host.definition.validateAction(request.data);
          return session.observation(request, await bounded(() => env.step(request.data), timeout, "step"));
        }
        case "state":
          return session.state(request, await bounded(() => env.state(), timeout, "state"));
        case "mcp": {
          const response = await handleRpc(
            {
              definition: this.host.definition,
              serverName: this.host.definition.name,
              serverVersion: this.host.definition.version,
              stepTimeoutS: timeout,
              env,
            },
            request.data,
          );
          return session.mcp(request, response);
        }
        case "close":
          return [{ kind: "close", code: CloseCode.NORMAL, reason: "" }];
      }
    } catch (error) {
      if (error instanceof StepTimedOut) {
        const message = `${request.type} exceeded the step timeout of ${timeout} s; session closed`;
        return session.failure(request, "STEP_TIMEOUT", message, {}, true);
      }
      const wire = toWire(error, request.type, session.mode === "v1" ? ["data"] : []);
      const details = wire.issues === null ? {} : { errors: wire.issues };
      return session.failure(request, wire.code, wire.message, details);
    }
  }

  private write(outputs: Output[]): void {
    const socket = this.socket;
    for (const output of outputs) {
      if (socket.readyState !== WebSocket.OPEN) return;
      if (output.kind === "send") {
        socket.send(output.text);
      } else {
        this.session.closed = true;
        socket.close(output.code, output.reason);
      }
    }
  }

  /** Runs inside `socket.close()`, before the close frame is written. */
  private onClosing(code: number | undefined, peerClosed: boolean): void {
    const session = this.session;
    if (!peerClosed && !session.closed) {
      // `ws` is failing the connection itself: oversized message, or a WebSocket protocol error.
      session.closed = true;
      if (code === CloseCode.MESSAGE_TOO_BIG) {
        const limit = this.host.limits.max_message_bytes;
        this.sendFirst(session.closing("MESSAGE_TOO_LARGE", `a message exceeded max_message_bytes (${limit})`));
      } else {
        this.sendFirst(session.closing("SESSION_ERROR", `WebSocket protocol error (close code ${code ?? "none"})`));
      }
    }
    session.closed = true;
    this.release();
  }

  private sendFirst(outputs: Output[]): void {
    for (const output of outputs) {
      if (output.kind === "send" && this.socket.readyState === WebSocket.OPEN) this.socket.send(output.text);
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    const limitMs = this.host.limits.idle_timeout_s * 1000;
    this.idleTimer = setTimeout(() => this.onIdle(), limitMs);
    this.idleTimer.unref();
  }

  private onIdle(): void {
    if (this.running || this.session.closed) return;
    const seconds = this.host.limits.idle_timeout_s;
    this.write(this.session.closing("IDLE_TIMEOUT", `no frame received for ${seconds} s; session closed`));
  }

  private ping(): void {
    const silentMs = Date.now() - this.lastInbound;
    if (silentMs >= this.host.pingIntervalS * 1000 && this.socket.readyState === WebSocket.OPEN) this.socket.ping();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.releaseSlot();
  }

  private teardown(): void {
    clearTimeout(this.idleTimer);
    clearInterval(this.pingTimer);
    this.session.closed = true;
    this.queue.length = 0;
    this.release();
    const env = this.env;
    this.env = null;
    if (env !== null) {
      try {
        env.close();
      } catch (error) {
        log("environment close() failed:", error);
      }
    }
  }
}
