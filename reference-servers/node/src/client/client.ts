/**
 * A small OpenEnv client in TypeScript (`ws`): one session per `EnvClient`, both protocol levels.
 *
 * Contract: `connect()` opens `/ws`, offering `openenv.v1` unless `protocol: "base"`; on a v1
 * connection the first frame MUST be the `session` hello (anything else is a protocol error,
 * OE-V1-012). Requests may be issued concurrently: they are sent at once (pipelining) and replies
 * are matched by order, and at v1 also by `id` (OE-WS-025). A request with no reply within
 * `timeoutMs` rejects with a `timeout` error and abandons the session, so a late reply can never be
 * paired with a later request. When the connection ends, every pending and later request rejects
 * with `lost` (carrying the error frame the server sent before closing, if any); the client never
 * reconnects on its own: only an explicit `connect()` opens a new session (OE-GEN-003). An HTTP
 * 503 refusal of the upgrade rejects `connect()` with the `CAPACITY_REACHED` code, the status and
 * the `Retry-After` delay (OE-LEG-003). Unknown members are ignored (OE-GEN-017); a v1 frame of an
 * unknown type without `id` is skipped (OE-WS-026); boolean rewards become 0/1 (OE-LEG-001).
 */
import WebSocket from "ws";

export const V1 = "openenv.v1";

export type ErrorKind = "remote" | "timeout" | "lost" | "connect" | "protocol" | "closed";

export class OpenEnvClientError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly code: string | null = null,
    readonly status: number | null = null,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = "OpenEnvClientError";
  }
}

export interface StepResult {
  observation: Record<string, unknown>;
  reward: number | null;
  done: boolean;
  terminated: boolean;
  truncated: boolean;
}

export interface ClientOptions {
  /** Bound on waiting for any one reply (and for the handshake), in milliseconds. */
  timeoutMs?: number;
  /** `auto` offers openenv.v1 and accepts the base level; `base` never offers it. */
  protocol?: "auto" | "base";
  /** Largest server message accepted. */
  maxMessageBytes?: number;
}

interface Pending {
  kind: string;
  id: number | null;
  resolve: (data: Record<string, unknown>) => void;
  reject: (error: OpenEnvClientError) => void;
  timer: NodeJS.Timeout;
}

const REPLY: Record<string, string> = { reset: "observation", step: "observation", state: "state", mcp: "mcp" };
const SERVER_TYPES = new Set(["observation", "state", "mcp", "error", "session"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function wsUrl(baseUrl: string): string {
  const url = new URL(baseUrl.includes("://") ? baseUrl : `http://${baseUrl}`);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/ws$/, "") + "/ws";
  return url.toString();
}

export class EnvClient {
  readonly timeoutMs: number;
  readonly protocol: "auto" | "base";
  readonly maxMessageBytes: number;
  private ws: WebSocket | null = null;
  private v1 = false;
  private nextId = 1;
  private pending: Pending[] = [];
  private lost: OpenEnvClientError | null = null;
  private lastError: Record<string, unknown> | null = null;
  sessionId: string | null = null;
  limits: Record<string, unknown> = {};

  constructor(
    readonly baseUrl: string,
    options: ClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.protocol = options.protocol ?? "auto";
    this.maxMessageBytes = options.maxMessageBytes ?? 100 * 1024 * 1024;
  }

  get mode(): "v1" | "base" | null {
    return this.ws === null ? null : this.v1 ? "v1" : "base";
  }

  /** Open a new session (closing the current one, if any). */
  async connect(): Promise<this> {
    if (this.ws !== null) await this.close();
    this.lost = null;
    this.lastError = null;
    this.nextId = 1;
    const ws = new WebSocket(wsUrl(this.baseUrl), this.protocol === "base" ? [] : [V1], {
      maxPayload: this.maxMessageBytes,
      perMessageDeflate: false,
      handshakeTimeout: this.timeoutMs,
    });
    // What the server selected, read before `ws` validates it: `ws` refuses a handshake that
    // selects no subprotocol when one was offered, which OE-V1-005 allows (speak the base level).
    let selected = "";
    ws.once("upgrade", (res) => {
      const header = res.headers["sec-websocket-protocol"];
      selected = typeof header === "string" ? header : "";
      if (selected === "" && this.protocol !== "base") res.headers["sec-websocket-protocol"] = V1;
    });
    // Listeners go on before "open": the v1 hello can arrive in the same tick as the upgrade.
    let helloWaiter: ((frame: unknown) => void) | null = null;
    const early: unknown[] = [];
    ws.on("message", (raw, isBinary) => {
      if (helloWaiter !== null || this.ws !== ws) {
        let frame: unknown = null;
        try {
          frame = isBinary ? null : JSON.parse(raw.toString());
        } catch {
          frame = null;
        }
        if (helloWaiter !== null) helloWaiter(frame);
        else early.push(frame);
        return;
      }
      this.onMessage(raw.toString(), isBinary);
    });
    ws.on("close", (code, reason) => {
      if (this.ws === ws) this.onClose(code, reason.toString());
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("unexpected-response", (_req, res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let code: string | null = null;
          try {
            const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            if (isObject(body) && isObject(body.data) && typeof body.data.code === "string") code = body.data.code;
          } catch {
            code = null;
          }
          const retry = Number(res.headers["retry-after"]);
          const status = res.statusCode ?? 0;
          reject(new OpenEnvClientError(code ? "remote" : "connect", `upgrade refused: HTTP ${status}`,
            code ?? (status === 503 ? "CAPACITY_REACHED" : null), status, Number.isFinite(retry) ? retry : null));
          ws.terminate();
        });
      });
      ws.once("open", () => resolve());
      ws.once("error", (err) => reject(new OpenEnvClientError("connect", `cannot connect: ${err.message}`)));
    });
    ws.on("error", () => undefined); // reported through "close"
    if (selected !== "" && selected !== V1) {
      ws.close(1002);
      throw new OpenEnvClientError("protocol", `server selected an unknown subprotocol ${selected}`);
    }
    this.v1 = selected === V1;
    if (this.v1) {
      const first = early.length > 0 ? early.shift() : await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.timeoutMs);
        helloWaiter = (frame) => {
          clearTimeout(timer);
          helloWaiter = null;
          resolve(frame);
        };
        ws.once("close", () => {
          clearTimeout(timer);
          helloWaiter = null;
          resolve(null);
        });
      });
      if (first === undefined) {
        ws.close(1000);
        throw new OpenEnvClientError("timeout", "no session hello within the timeout");
      }
      if (!isObject(first) || first.type !== "session" || !isObject(first.data)) {
        ws.close(1002);
        throw new OpenEnvClientError("protocol", "the first frame of a v1 session is not the session hello");
      }
      this.sessionId = typeof first.data.session_id === "string" ? first.data.session_id : null;
      this.limits = isObject(first.data.limits) ? first.data.limits : {};
    }
    this.ws = ws;
    for (const frame of early) this.onMessage(JSON.stringify(frame), false);
    if (ws.readyState !== WebSocket.OPEN) this.onClose(1006, "");
    return this;
  }

  private onMessage(text: string, isBinary: boolean): void {
    let frame: unknown;
    try {
      frame = isBinary ? null : JSON.parse(text);
    } catch {
      frame = null;
    }
    if (!isObject(frame) || typeof frame.type !== "string") {
      this.abandon(new OpenEnvClientError("protocol", "the server sent a frame that is not a JSON object"));
      return;
    }
    if (!SERVER_TYPES.has(frame.type) || frame.type === "session") {
      if (this.v1 && !("id" in frame) && frame.type !== "session") return; // OE-WS-026
      this.abandon(new OpenEnvClientError("protocol", `unexpected '${frame.type}' frame`));
      return;
    }
    const data = isObject(frame.data) ? frame.data : {};
    const head = this.pending.shift();
    if (head === undefined) {
      if (frame.type === "error") {
        this.lastError = data; // e.g. CAPACITY_REACHED before a base-level server closes
        return;
      }
      this.abandon(new OpenEnvClientError("protocol", `unsolicited '${frame.type}' frame`));
      return;
    }
    clearTimeout(head.timer);
    if (this.v1 && "id" in frame && frame.id !== head.id) {
      const error = new OpenEnvClientError("protocol", `reply id ${String(frame.id)} does not match ${head.id}`);
      head.reject(error);
      this.abandon(error);
      return;
    }
    if (frame.type === "error") {
      const code = typeof data.code === "string" ? data.code : "UNKNOWN";
      head.reject(new OpenEnvClientError("remote", String(data.message ?? ""), code));
      return;
    }
    if (frame.type !== REPLY[head.kind]) {
      const error = new OpenEnvClientError("protocol", `expected '${REPLY[head.kind]}' for '${head.kind}', got '${frame.type}'`);
      head.reject(error);
      this.abandon(error);
      return;
    }
    head.resolve(data);
  }

  private onClose(code: number, reason: string): void {
    if (this.lost !== null) return;
    const last = this.lastError;
    this.lost = last
      ? new OpenEnvClientError("remote", String(last.message ?? ""), typeof last.code === "string" ? last.code : null)
      : new OpenEnvClientError("lost", `the session's connection closed (${code}${reason ? ": " + reason : ""})`);
    this.failPending(this.lost);
  }

  private failPending(error: OpenEnvClientError): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  /** Give the session up: later requests reject with `lost`; the connection is closed. */
  private abandon(error: OpenEnvClientError, code = 1000): void {
    if (this.lost === null) this.lost = new OpenEnvClientError("lost", `session abandoned after: ${error.message}`);
    this.failPending(this.lost);
    this.ws?.close(code);
  }

  private request(kind: string, data?: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.ws === null) return Promise.reject(new OpenEnvClientError("closed", "not connected; call connect()"));
    if (this.lost !== null) return Promise.reject(this.lost);
    const ws = this.ws;
    const frame: Record<string, unknown> = { type: kind };
    if (data !== undefined) frame.data = data;
    const id = this.v1 ? this.nextId++ : null;
    if (id !== null) frame.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new OpenEnvClientError("timeout", `no reply to '${kind}' within ${this.timeoutMs} ms`);
        const index = this.pending.findIndex((p) => p.timer === timer);
        if (index >= 0) this.pending.splice(index, 1);
        reject(error);
        this.abandon(error);
      }, this.timeoutMs);
      this.pending.push({ kind, id, resolve, reject, timer });
      ws.send(JSON.stringify(frame));
    });
  }

  private static result(data: Record<string, unknown>, v1: boolean): StepResult {
    const done = data.done === true;
    const raw = data.reward;
    const reward = typeof raw === "boolean" ? (raw ? 1 : 0) : typeof raw === "number" ? raw : null;
    const observation = isObject(data.observation) ? data.observation : {};
    if (v1) return { observation, reward, done, terminated: data.terminated === true, truncated: data.truncated === true };
    return { observation, reward, done, terminated: done, truncated: false };
  }

  async reset(params: Record<string, unknown> = {}): Promise<StepResult> {
    return EnvClient.result(await this.request("reset", params), this.v1);
  }

  async step(action: Record<string, unknown>): Promise<StepResult> {
    return EnvClient.result(await this.request("step", action), this.v1);
  }

  async state(): Promise<Record<string, unknown>> {
    return this.request("state");
  }

  /** End the session: send `close`, then wait for the closing handshake (OE-WS-017). */
  async close(): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    if (ws === null) return;
    if (this.lost === null) this.lost = new OpenEnvClientError("closed", "the client was closed");
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, this.timeoutMs);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"close"}');
      ws.close(1000);
    });
  }
}
