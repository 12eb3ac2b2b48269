/**
 * Validation problems as they go on the wire: `{type, loc, msg, input?}` items of a
 * `VALIDATION_ERROR` frame's `errors` or of an HTTP 422 `detail` (schemas/ValidationIssue).
 *
 * `InvalidRequest` is thrown by every check that rejects client input before the environment runs;
 * its `loc`s are relative to the checked object and get their prefix where they are reported
 * (`["data", …]` on a v1 connection, none at base level, `["body", …]` on HTTP; OE-ERR-006/007,
 * OE-HTTP-022). `input` is echoed only when small.
 */
import { boundedEcho } from "../json.js";
import type { ValidationIssue } from "../generated/ValidationIssue.js";

/** One wire issue (the generated type, with `input` as any JSON value). */
export type Issue = Pick<ValidationIssue, "type" | "loc" | "msg"> & { input?: unknown };

export const MAX_ISSUES = 50;

export function issue(type: string, loc: (string | number)[], msg: string, input?: unknown): Issue {
  const echoed = boundedEcho(input);
  return echoed === undefined ? { type, loc, msg } : { type, loc, msg, input: echoed };
}

/** Client input rejected before it reached the environment (`VALIDATION_ERROR` / HTTP 422). */
export class InvalidRequest extends Error {
  readonly issues: Issue[];

  constructor(message: string, issues: Issue[]) {
    super(message);
    this.issues = issues.slice(0, MAX_ISSUES);
  }

  /** The issues with `prefix` prepended to every `loc`. */
  located(prefix: (string | number)[]): Issue[] {
    return this.issues.map((item) => ({ ...item, loc: [...prefix, ...item.loc] }));
  }
}
