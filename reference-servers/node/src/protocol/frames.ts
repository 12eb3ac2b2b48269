/**
 * Client frame decoding and server frame encoding for `/ws`.
 *
 * `decodeClientFrame` applies, in this order, the rules of spec/websocket.md and the envelope
 * schemas (`Ws*Request` at base level, `V1*Request` at v1): binary message → `INVALID_JSON`
 * (OE-WS-005); not JSON → `INVALID_JSON` (OE-WS-006, OE-GEN-012/013); not an object →
 * `VALIDATION_ERROR` (OE-WS-007); at v1 a bad `id` → `VALIDATION_ERROR` with `loc ["id"]` and no id
 * on the reply (OE-V1-023); unknown `type` → `UNKNOWN_TYPE` (OE-WS-008); a member not allowed for
 * the type (`id` at base level included), a missing or non-object `data` → `VALIDATION_ERROR`
 * (OE-WS-009). Every failure is a `FrameError`, never fatal to the session.
 *
 * Encoders write `{"type":…,"id":…,"data":…}` (id only when given) with `encodeJson`.
 */
import type { ErrorCode, Mode } from "./codes.js";
import { MAX_ID_CHARS, MAX_SAFE } from "./codes.js";
import { type Issue, issue } from "./issues.js";
import { type Encodable, encodeJson, isObject, type JsonObject, JsonSyntaxError, parseStrict } from "../json.js";

/** A v1 request id: a string of 1–128 characters or an integer 0…2^53−1. */
export type RequestId = string | number;

export type ClientFrameType = "reset" | "step" | "state" | "close" | "mcp";

/** A validated client frame; `data` is `{}` when absent. */
export interface ClientFrame {
  readonly type: ClientFrameType;
  readonly data: JsonObject;
  readonly id: RequestId | undefined;
}

/** Why a frame was refused. */
export class FrameError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { errors?: Issue[] } = {},
    readonly requestId: RequestId | undefined = undefined,
  ) {
    super(message);
  }
}

const enum DataRule {
  Optional,
  Required,
  Forbidden,
}

const DATA_RULES: Readonly<Record<ClientFrameType, DataRule>> = {
  reset: DataRule.Optional,
  step: DataRule.Required,
  state: DataRule.Forbidden,
  close: DataRule.Forbidden,
  mcp: DataRule.Required,
};

/** Whether `value` is a well-formed v1 request id. */
export function isValidId(value: unknown): value is RequestId {
  if (typeof value === "string") return value.length >= 1 && value.length <= MAX_ID_CHARS;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_SAFE;
}

/** Decode one inbound message; `text` is null for a binary message. */
export function decodeClientFrame(text: string | null, mode: Mode): ClientFrame {
  if (text === null) {
    throw new FrameError(
      "INVALID_JSON",
      "Invalid JSON: binary frames are not supported; send JSON in a text frame",
    );
  }
  let value;
  try {
    value = parseStrict(text);
  } catch (error) {
    const reason = error instanceof JsonSyntaxError ? error.message : "unreadable";
    throw new FrameError("INVALID_JSON", `Invalid JSON: ${reason}`);
  }
  if (!isObject(value)) {
    throw new FrameError("VALIDATION_ERROR", "Invalid message: a frame must be a JSON object", {
      errors: [issue("dict_type", [], "Input should be an object", value)],
    });
  }
  let requestId: RequestId | undefined;
  const idAllowed = mode === "v1" && "id" in value;
  if (idAllowed) {
    const candidate = value["id"];
    if (!isValidId(candidate)) {
      throw new FrameError(
        "VALIDATION_ERROR",
        `Invalid message: 'id' must be a string of 1-${MAX_ID_CHARS} characters or an integer 0..${MAX_SAFE}`,
        { errors: [issue("id_type", ["id"], "Invalid request id", candidate)] },
      );
    }
    requestId = candidate;
  }
  const kind = value["type"];
  const rule = typeof kind === "string" && Object.hasOwn(DATA_RULES, kind)
    ? DATA_RULES[kind as ClientFrameType]
    : undefined;
  if (rule === undefined) {
    const shown = typeof kind === "string" ? kind : kind === undefined ? "" : JSON.stringify(kind);
    throw new FrameError("UNKNOWN_TYPE", `Unknown message type: ${shown}`, {}, requestId);
  }
  const problems: Issue[] = [];
  for (const key of Object.keys(value)) {
    if (key === "type" || (key === "data" && rule !== DataRule.Forbidden) || (key === "id" && idAllowed)) {
      continue;
    }
    problems.push(issue("extra_forbidden", [key], "Extra inputs are not permitted", value[key]));
  }
  const data = "data" in value ? value["data"] : {};
  if (rule === DataRule.Required && !("data" in value)) {
    problems.push(issue("missing", ["data"], "Field required", value));
  } else if (rule !== DataRule.Forbidden && !isObject(data)) {
    problems.push(issue("dict_type", ["data"], "Input should be an object", data));
  }
  if (problems.length > 0) {
    throw new FrameError("VALIDATION_ERROR", "Invalid message", { errors: problems }, requestId);
  }
  return { type: kind as ClientFrameType, data: (rule === DataRule.Forbidden ? {} : data) as JsonObject, id: requestId };
}

/** One server frame as text. */
export function encodeFrame(type: string, data: Encodable, id?: RequestId): string {
  return id === undefined ? encodeJson({ type, data }) : encodeJson({ type, id, data });
}

/** An `error` frame: `data` holds `message`, `code`, then the code-specific members. */
export function encodeError(
  code: ErrorCode,
  message: string,
  details: { readonly [key: string]: Encodable } = {},
  id?: RequestId,
): string {
  return encodeFrame("error", { message, code, ...details }, id);
}
