/**
 * Server settings from the environment and the command line (command line wins).
 *
 * | setting            | env var                     | flag                  | default    |
 * |--------------------|-----------------------------|-----------------------|------------|
 * | environment        | `ENV`                       | `--env`               | `echo`     |
 * | bind address       | `HOST`                      | `--host`              | 127.0.0.1  |
 * | port (0 = any)     | `PORT`                      | `--port`              | 8000       |
 * | max_sessions       | `OPENENV_MAX_SESSIONS`      | `--max-sessions`      | 64         |
 * | max_message_bytes  | `OPENENV_MAX_MESSAGE_BYTES` | `--max-message-bytes` | 16777216   |
 * | step_timeout_s     | `OPENENV_STEP_TIMEOUT_S`    | `--step-timeout-s`    | 60         |
 * | idle_timeout_s     | `OPENENV_IDLE_TIMEOUT_S`    | `--idle-timeout-s`    | 600        |
 *
 * The four limits are advertised in `/metadata.limits` and the v1 hello, and enforced exactly
 * (OE-LIM-001/002). Invalid values throw `ConfigError` naming the setting.
 */
import type { EnvironmentDefinition } from "./env.js";
import { ENVIRONMENTS } from "./envs/index.js";
import type { Limits } from "./generated/Limits.js";

export const DEFAULT_LIMITS: Limits = {
  max_message_bytes: 16 * 1024 * 1024,
  step_timeout_s: 60,
  idle_timeout_s: 600,
  max_sessions: 64,
};

export interface ServerConfig {
  readonly env: EnvironmentDefinition;
  readonly host: string;
  readonly port: number;
  readonly limits: Limits;
  /** `Retry-After` seconds of a capacity refusal. */
  readonly retryAfterS: number;
  /** Ping a silent `/ws` connection this often (OE-WS-027). */
  readonly pingIntervalS: number;
}

export class ConfigError extends Error {}

const FLAGS: Readonly<Record<string, string>> = {
  "--env": "ENV",
  "--host": "HOST",
  "--port": "PORT",
  "--max-sessions": "OPENENV_MAX_SESSIONS",
  "--max-message-bytes": "OPENENV_MAX_MESSAGE_BYTES",
  "--step-timeout-s": "OPENENV_STEP_TIMEOUT_S",
  "--idle-timeout-s": "OPENENV_IDLE_TIMEOUT_S",
};

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function seconds(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new ConfigError(`${name} must be a number of seconds in (0, 86400], got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Parse `argv` (flags `--name value` or `--name=value`) over `env`. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const settings: Record<string, string | undefined> = { ...env };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const key = FLAGS[flag];
    if (key === undefined) {
      throw new ConfigError(`unknown argument ${JSON.stringify(arg)}; known: ${Object.keys(FLAGS).join(", ")}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    settings[key] = value;
  }
  const envName = settings["ENV"] ?? "echo";
  const definition = ENVIRONMENTS[envName];
  if (definition === undefined || !Object.hasOwn(ENVIRONMENTS, envName)) {
    throw new ConfigError(`ENV must be one of ${Object.keys(ENVIRONMENTS).join(", ")}, got ${JSON.stringify(envName)}`);
  }
  const pick = (key: string): string | undefined => {
    const value = settings[key];
    return value === undefined || value === "" ? undefined : value;
  };
  const limits: Limits = {
    max_message_bytes: integer("max_message_bytes", pick("OPENENV_MAX_MESSAGE_BYTES") ?? String(DEFAULT_LIMITS.max_message_bytes), 1024, 2 ** 30),
    step_timeout_s: seconds("step_timeout_s", pick("OPENENV_STEP_TIMEOUT_S") ?? String(DEFAULT_LIMITS.step_timeout_s)),
    idle_timeout_s: seconds("idle_timeout_s", pick("OPENENV_IDLE_TIMEOUT_S") ?? String(DEFAULT_LIMITS.idle_timeout_s)),
    max_sessions: integer("max_sessions", pick("OPENENV_MAX_SESSIONS") ?? String(DEFAULT_LIMITS.max_sessions), 1, 100_000),
  };
  return {
    env: definition,
    host: pick("HOST") ?? "127.0.0.1",
    port: integer("PORT", pick("PORT") ?? "8000", 0, 65_535),
    limits,
    retryAfterS: 1,
    pingIntervalS: 30,
  };
}
