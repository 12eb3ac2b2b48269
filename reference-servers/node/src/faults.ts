/**
 * The one place where exceptions become wire errors (OE-ERR-009/010, OE-SEC-003).
 *
 * `InvalidRequest` → `VALIDATION_ERROR` (HTTP 422); `EnvironmentFault` → `EXECUTION_ERROR` with its
 * message (clipped); anything else an environment throws → `EXECUTION_ERROR` naming only the
 * operation and the error class, with the details written to the server log, never to the client.
 */
import type { ErrorCode } from "./protocol/codes.js";
import { InvalidRequest, type Issue } from "./protocol/issues.js";
import { EnvironmentFault } from "./env.js";

const MAX_MESSAGE_CHARS = 500;

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly issues: Issue[] | null;
}

function clip(text: string): string {
  const flat = text.split(/\s+/).join(" ").trim();
  return flat.length <= MAX_MESSAGE_CHARS ? flat : `${flat.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

export function log(message: string, error?: unknown): void {
  const detail = error instanceof Error ? ` ${error.stack ?? error.message}` : error === undefined ? "" : ` ${String(error)}`;
  process.stderr.write(`openenv-node: ${message}${detail}\n`);
}

/** Map an error thrown while serving `operation` (reset, step, state, mcp, factory). */
export function toWire(error: unknown, operation: string, locPrefix: (string | number)[] = []): WireError {
  if (error instanceof InvalidRequest) {
    return { code: "VALIDATION_ERROR", message: clip(error.message), issues: error.located(locPrefix) };
  }
  const kind = error instanceof Error ? error.constructor.name : typeof error;
  if (operation === "factory") {
    log("environment factory failed:", error);
    return { code: "FACTORY_ERROR", message: `the environment could not be created (${kind})`, issues: null };
  }
  if (error instanceof EnvironmentFault) {
    return { code: "EXECUTION_ERROR", message: clip(error.message) || `${operation} failed`, issues: null };
  }
  log(`environment ${operation} failed:`, error);
  return { code: "EXECUTION_ERROR", message: `${operation} failed in the environment (${kind})`, issues: null };
}
