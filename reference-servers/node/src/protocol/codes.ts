/**
 * Protocol constants: the subprotocol token, the two levels, error codes and close codes.
 *
 * `ErrorCode` is the type generated from `schemas/ErrorCode.schema.json`; `BASE_ERROR_CODES` are the
 * seven codes a base-level connection may receive (`schemas/BaseErrorCode.schema.json`), and
 * `CLOSE_CODE_FOR` is the close-code column of the registry in `spec/errors.md`.
 */
import type { ErrorCode } from "../generated/ErrorCode.js";

export type { ErrorCode };

/** The WebSocket subprotocol of the v1 extensions (OE-V1-002). */
export const SUBPROTOCOL_V1 = "openenv.v1";

/** The level a connection speaks. */
export type Mode = "base" | "v1";

export const BASE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INVALID_JSON",
  "UNKNOWN_TYPE",
  "VALIDATION_ERROR",
  "EXECUTION_ERROR",
  "CAPACITY_REACHED",
  "FACTORY_ERROR",
  "SESSION_ERROR",
]);

/** WebSocket close codes (RFC 6455 §7.4.1) the server uses. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;

/** The close code that follows an error frame with this code (OE-V1-060). */
export const CLOSE_CODE_FOR: Readonly<Partial<Record<ErrorCode, number>>> = {
  SESSION_ERROR: CloseCode.POLICY_VIOLATION,
  MESSAGE_TOO_LARGE: CloseCode.MESSAGE_TOO_BIG,
  FACTORY_ERROR: CloseCode.INTERNAL_ERROR,
  STEP_TIMEOUT: CloseCode.INTERNAL_ERROR,
  CAPACITY_REACHED: CloseCode.TRY_AGAIN_LATER,
  IDLE_TIMEOUT: CloseCode.GOING_AWAY,
};

/** Largest integer request id / seed: 2^53 − 1. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
export const MAX_ID_CHARS = 128;
export const MAX_EPISODE_ID_CHARS = 255;
