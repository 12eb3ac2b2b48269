/**
 * The environment contract the server hosts.
 *
 * An `EnvironmentDefinition` describes one environment kind (name, schemas, accepted reset
 * parameters, action validation) and creates one `Environment` instance per session. The server
 * validates client input with `validateAction` and `resetParameters` *before* calling the instance
 * (OE-WS-010); anything an instance throws is an environment failure (`EXECUTION_ERROR`,
 * OE-ERR-009), and only an `EnvironmentFault`'s message reaches the client verbatim (OE-SEC-003).
 * Methods may return a value or a promise; a promise lets the step timeout bound the call.
 */
import type { Encodable, JsonObject } from "./json.js";
import type { ToolSpec } from "./tools.js";

export type Awaitable<T> = T | Promise<T>;

/** What `reset` and `step` return. `reward` is a Python-style float (or null). */
export interface EnvObservation {
  /** The wire `observation` object (environment fields plus `metadata`; never `reward`/`done`). */
  readonly observation: { readonly [key: string]: Encodable };
  readonly reward: number | null;
  readonly terminated: boolean;
  readonly truncated: boolean;
  /** Copied to `data.metadata` when non-empty (OE-WS-019). */
  readonly metadata: { readonly [key: string]: Encodable };
}

/** Reset parameters after protocol validation (`seed`, `episode_id` already range-checked). */
export type ResetParams = JsonObject;

/** One environment instance: serves one session. */
export interface Environment {
  reset(params: ResetParams): Awaitable<EnvObservation>;
  step(action: JsonObject): Awaitable<EnvObservation>;
  state(): Awaitable<{ readonly [key: string]: Encodable }>;
  /** The MCP tools of this instance, or null when the environment has none (OE-MCP-015). */
  tools(): readonly ToolSpec[] | null;
  /** Release resources; called once when the session ends. */
  close(): void;
}

/** The JSON Schemas `/schema` publishes (OE-HTTP-005/006). */
export interface EnvironmentSchemas {
  readonly action: JsonObject;
  readonly observation: JsonObject;
  readonly state: JsonObject;
  readonly reset_observation: JsonObject | null;
}

/** One environment kind. */
export interface EnvironmentDefinition {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly hasTools: boolean;
  readonly schemas: EnvironmentSchemas;
  /** Reset parameter names `reset` accepts, or "any" when it takes arbitrary keywords. */
  readonly resetParameters: ReadonlySet<string> | "any";
  /** Throw `InvalidRequest` (locs relative to the action) when `action` is not a valid action. */
  validateAction(action: JsonObject): void;
  create(): Environment;
}

/** An environment failure whose message is meant for the client. */
export class EnvironmentFault extends Error {}
