/**
 * The per-connection protocol state machine (sans-I/O): frames in, outputs out.
 *
 * The transport feeds every inbound message to `receive()`, which returns either outputs to write
 * now (an error frame) or a `Request` to run on the environment; the transport reports the outcome
 * with `observation()`, `state()`, `mcp()` or `failure()`, each returning the outputs to write in
 * order. Level rules live here: at base level v1-only codes become `EXECUTION_ERROR`, or a bare
 * close for `MESSAGE_TOO_LARGE`/`IDLE_TIMEOUT` (spec/errors.md), and no `id`, hello or flags are
 * ever sent (OE-V1-090/091, OE-V1-032).
 *
 * Episode rule table (v1 only; OE-V1-050/051/052 — base level passes every step on):
 *
 *   episode       reset                          step
 *   not_started   → running (ended if done)      EPISODE_NOT_STARTED
 *   running       → running (ended if done)      → running (ended if done)
 *   ended         → running (ended if done)      EPISODE_ENDED
 *
 * A reply longer than `max_message_bytes` is replaced by an `EXECUTION_ERROR` that says so
 * (OE-LIM-007); a non-finite reward or value is an `EXECUTION_ERROR` too (OE-V1-041, OE-WS-021).
 */
import type { EnvObservation } from "../env.js";
import type { Limits } from "../generated/Limits.js";
import type { V1SessionMessage } from "../generated/V1SessionMessage.js";
import { type Encodable, PyFloat } from "../json.js";
import { BASE_ERROR_CODES, CLOSE_CODE_FOR, CloseCode, type ErrorCode, type Mode, SUBPROTOCOL_V1 } from "./codes.js";
import { type ClientFrame, type ClientFrameType, decodeClientFrame, encodeError, encodeFrame, FrameError, type RequestId } from "./frames.js";

export type Output = { readonly kind: "send"; readonly text: string } | { readonly kind: "close"; readonly code: number; readonly reason: string };

/** An operation to run on the environment. */
export type Request = ClientFrame & { readonly type: ClientFrameType };

export type Episode = "not_started" | "running" | "ended";

type Details = { readonly [key: string]: Encodable };

export class ServerSession {
  episode: Episode = "not_started";
  closed = false;

  constructor(
    readonly mode: Mode,
    readonly sessionId: string,
    readonly limits: Limits,
  ) {}

  /** The subprotocol to select from the client's offer (null → base level). */
  static selectSubprotocol(offered: ReadonlySet<string>): string | null {
    return offered.has(SUBPROTOCOL_V1) ? SUBPROTOCOL_V1 : null;
  }

  /** The frames to send right after the upgrade: the v1 hello (OE-V1-010/011), nothing at base. */
  hello(): Output[] {
    if (this.mode !== "v1") return [];
    const frame: V1SessionMessage = {
      type: "session",
      data: { session_id: this.sessionId, protocol: SUBPROTOCOL_V1, limits: this.limits },
    };
    return [send(encodeFrame(frame.type, { ...frame.data }))];
  }

  /** Accept one inbound message (`text` null for binary): a request to run, or outputs now. */
  receive(text: string | null): Request | Output[] {
    if (this.closed) return [];
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(text, this.mode);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      return this.error(error.code, error.message, error.details as Details, error.requestId);
    }
    if (frame.type === "close") {
      this.closed = true;
      return frame;
    }
    if (frame.type === "step" && this.mode === "v1") {
      if (this.episode === "not_started") {
        return this.error("EPISODE_NOT_STARTED", "step before reset: send a reset to start an episode", {}, frame.id);
      }
      if (this.episode === "ended") {
        return this.error(
          "EPISODE_ENDED",
          "the episode has ended (done was true): send a reset to start a new one",
          {},
          frame.id,
        );
      }
    }
    return frame;
  }

  /** Answer a `reset`/`step` with the environment's observation. */
  observation(request: Request, outcome: EnvObservation): Output[] {
    const { reward, terminated, truncated } = outcome;
    if (reward !== null && !Number.isFinite(reward)) {
      return this.error("EXECUTION_ERROR", `the environment produced a non-finite reward (${reward})`, {}, request.id);
    }
    const done = terminated || truncated;
    const data: { [key: string]: Encodable } = {
      observation: outcome.observation,
      reward: reward === null ? null : new PyFloat(reward),
      done,
    };
    if (this.mode === "v1") {
      data["terminated"] = terminated;
      data["truncated"] = truncated;
    }
    if (Object.keys(outcome.metadata).length > 0) data["metadata"] = outcome.metadata;
    const { sent, outputs } = this.encodeReply("observation", data, request.id);
    if (sent) this.episode = done ? "ended" : "running";
    return outputs;
  }

  /** Answer a `state` request. */
  state(request: Request, state: Details): Output[] {
    return this.reply("state", state, request.id);
  }

  /** Answer an `mcp` request with a JSON-RPC response (nothing for a notification). */
  mcp(request: Request, response: Details | null): Output[] {
    return response === null ? [] : this.reply("mcp", response, request.id);
  }

  /** An error frame answering `request` (or nothing); `fatal` also closes the connection. */
  failure(request: Request | null, code: ErrorCode, message: string, details: Details = {}, fatal = false): Output[] {
    return this.error(code, message, details, request?.id, fatal);
  }

  /** Server-initiated close with an error frame (v1) or a bare close where the base level says so. */
  closing(code: ErrorCode, message: string, details: Details = {}): Output[] {
    return this.error(code, message, details, undefined, true);
  }

  private reply(type: string, data: Details, id: RequestId | undefined): Output[] {
    return this.encodeReply(type, data, id).outputs;
  }

  /** The reply frame, or the `EXECUTION_ERROR` that replaces it (`sent` false). */
  private encodeReply(type: string, data: Details, id: RequestId | undefined): { sent: boolean; outputs: Output[] } {
    let text: string;
    try {
      text = encodeFrame(type, data, id);
    } catch {
      const message = "the environment produced a value that is not valid JSON (non-finite number)";
      return { sent: false, outputs: this.error("EXECUTION_ERROR", message, {}, id) };
    }
    if (Buffer.byteLength(text, "utf8") > this.limits.max_message_bytes) {
      const message = `the reply would exceed max_message_bytes (${this.limits.max_message_bytes}); it was not sent`;
      return { sent: false, outputs: this.error("EXECUTION_ERROR", message, {}, id) };
    }
    return { sent: true, outputs: [send(text)] };
  }

  private error(
    code: ErrorCode,
    message: string,
    details: Details,
    id: RequestId | undefined,
    fatal = false,
  ): Output[] {
    const closeCode = CLOSE_CODE_FOR[code] ?? CloseCode.POLICY_VIOLATION;
    if (this.mode !== "v1") {
      id = undefined;
      if (code === "MESSAGE_TOO_LARGE" || code === "IDLE_TIMEOUT") {
        this.closed = true;
        return [{ kind: "close", code: closeCode, reason: "" }];
      }
      if (!BASE_ERROR_CODES.has(code)) code = "EXECUTION_ERROR";
    }
    const outputs: Output[] = [send(encodeError(code, message, details, id))];
    if (fatal) {
      this.closed = true;
      outputs.push({ kind: "close", code: closeCode, reason: "" });
    }
    return outputs;
  }
}

function send(text: string): Output {
  return { kind: "send", text };
}
