/**
 * Small real environments for exercising server limits: a slow step, a non-finite reward, an
 * oversized observation, a failing factory. They are ordinary `EnvironmentDefinition`s served by
 * the same server code as echo and gridworld.
 */
import type { Environment, EnvironmentDefinition, EnvObservation } from "../src/env.js";
import type { JsonObject } from "../src/json.js";

export type Behaviour = "slow" | "nan" | "huge" | "boom";

function observation(extra: JsonObject, reward: number | null): EnvObservation {
  return { observation: { metadata: {}, ...extra }, reward, terminated: false, truncated: false, metadata: {} };
}

class Probe implements Environment {
  steps = 0;
  constructor(private readonly behaviour: Behaviour) {}

  reset(): EnvObservation {
    this.steps = 0;
    return observation({}, null);
  }

  async step(action: JsonObject): Promise<EnvObservation> {
    this.steps += 1;
    if (this.behaviour === "slow") await new Promise((resolve) => setTimeout(resolve, Number(action["ms"] ?? 0)));
    if (this.behaviour === "nan") return observation({}, Number.NaN);
    if (this.behaviour === "huge") return observation({ blob: "x".repeat(Number(action["bytes"] ?? 0)) }, 0);
    if (this.behaviour === "boom") throw new Error("secret internal detail /etc/passwd");
    return observation({}, 1);
  }

  state(): JsonObject {
    return { episode_id: null, step_count: this.steps };
  }

  tools(): null {
    return null;
  }

  close(): void {}
}

export function probe(behaviour: Behaviour, factoryFails = false): EnvironmentDefinition {
  return {
    name: `probe_${behaviour}`,
    version: "0.0.1",
    description: `probe environment (${behaviour})`,
    hasTools: false,
    resetParameters: new Set(["seed", "episode_id"]),
    schemas: { action: { type: "object" }, observation: { type: "object" }, state: { type: "object" }, reset_observation: null },
    validateAction: () => undefined,
    create: () => {
      if (factoryFails) throw new Error("no database");
      return new Probe(behaviour);
    },
  };
}
