/**
 * Calling an environment instance under the protocol's rules.
 *
 * `checkResetParams` validates reset parameters before the environment sees them (OE-WS-011/012/013,
 * OE-HTTP-013): `seed` an integer 0…2^53−1, `episode_id` a string of 1–255 characters (`null` means
 * absent); names the environment does not accept are rejected when `strict` (v1) and dropped
 * otherwise. `bounded` runs one environment call and rejects with `StepTimedOut` after the step
 * timeout; the call itself cannot be interrupted (JavaScript has no preemption), so the caller
 * abandons the instance. A synchronous throw becomes a rejection.
 */
import type { EnvironmentDefinition, ResetParams } from "./env.js";
import type { JsonObject } from "./json.js";
import { MAX_EPISODE_ID_CHARS, MAX_SAFE } from "./protocol/codes.js";
import { InvalidRequest, type Issue, issue } from "./protocol/issues.js";

export class StepTimedOut extends Error {}

export function checkResetParams(definition: EnvironmentDefinition, data: JsonObject, strict: boolean): ResetParams {
  const problems: Issue[] = [];
  const seed = data["seed"];
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > MAX_SAFE)) {
    problems.push(issue("value_error", ["seed"], `Input should be an integer from 0 to ${MAX_SAFE}`, seed));
  }
  const episodeId = data["episode_id"];
  if (
    episodeId !== undefined &&
    episodeId !== null &&
    (typeof episodeId !== "string" || episodeId.length < 1 || episodeId.length > MAX_EPISODE_ID_CHARS)
  ) {
    problems.push(issue("value_error", ["episode_id"], "Input should be a string of 1 to 255 characters", episodeId));
  }
  const accepted = definition.resetParameters;
  let params: ResetParams = data;
  if (accepted !== "any") {
    params = {};
    for (const [key, value] of Object.entries(data)) {
      if (accepted.has(key)) params[key] = value;
      else if (strict) problems.push(issue("extra_forbidden", [key], "reset does not accept this parameter", value));
    }
  }
  if (problems.length > 0) throw new InvalidRequest("Invalid reset parameters", problems);
  return params;
}

/** Run `call` with a deadline of `timeoutS` seconds. */
export async function bounded<T>(call: () => T | Promise<T>, timeoutS: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimedOut(operation)), timeoutS * 1000);
  });
  try {
    return await Promise.race([Promise.resolve().then(call), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
