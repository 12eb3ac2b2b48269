/**
 * The gridworld environment: the OpenEnv layer over `game.ts`, matching
 * `reference-servers/gridworld_env/environment.py` on the wire.
 *
 * `reset(seed?, episode_id?, width=8, height=8, traps=3, wall_percent=20, max_steps=50)`; without a
 * seed one is drawn at random from [0, 2^53) so that it can be replayed through the protocol. The
 * observation (field order and values as the Python `GridObservation` dumps it) is
 * `{metadata:{seed}, board, agent, goal, width, height, steps_taken, steps_left, distance_to_goal,
 * event}`; reward `null` on reset, a float per move; goal/trap terminate, the step limit
 * truncates. Bad reset values and steps without a running episode are `EnvironmentFault`s.
 */
import { randomBytes, randomUUID } from "node:crypto";

import type { EnvironmentDefinition, Environment, EnvObservation, ResetParams } from "../../env.js";
import { EnvironmentFault } from "../../env.js";
import { type Encodable, type JsonObject, PyFloat } from "../../json.js";
import { InvalidRequest, issue } from "../../protocol/issues.js";
import { DEFAULT_CONFIG, DIRECTIONS, type Game, type GameConfig, newGame } from "./game.js";

const RESET_PARAMETERS = new Set(["seed", "episode_id", "width", "height", "traps", "wall_percent", "max_steps"]);

function randomSeed(): number {
  return Number(randomBytes(8).readBigUInt64BE() >> 11n); // 53 random bits
}

class GridWorldEnvironment implements Environment {
  private game: Game | null = null;
  private episodeId: string | null = null;

  reset(params: ResetParams): EnvObservation {
    const rawSeed = params["seed"] ?? randomSeed();
    if (typeof rawSeed !== "number" || !Number.isSafeInteger(rawSeed) || rawSeed < 0) {
      throw new EnvironmentFault(`seed must be an integer in [0, 2**64), got ${JSON.stringify(rawSeed)}`);
    }
    const config: GameConfig = {
      width: (params["width"] ?? DEFAULT_CONFIG.width) as number,
      height: (params["height"] ?? DEFAULT_CONFIG.height) as number,
      wall_percent: (params["wall_percent"] ?? DEFAULT_CONFIG.wall_percent) as number,
      traps: (params["traps"] ?? DEFAULT_CONFIG.traps) as number,
      max_steps: (params["max_steps"] ?? DEFAULT_CONFIG.max_steps) as number,
    };
    try {
      this.game = newGame(BigInt(rawSeed), config);
    } catch (error) {
      throw new EnvironmentFault((error as Error).message);
    }
    const requested = params["episode_id"];
    this.episodeId = typeof requested === "string" && requested.length > 0 ? requested : randomUUID().replaceAll("-", "");
    return this.observe("start", null, false, false);
  }

  step(action: JsonObject): EnvObservation {
    const game = this.game;
    if (game === null) throw new EnvironmentFault("no episode: call reset before step");
    if (game.done) throw new EnvironmentFault("the episode has ended: call reset");
    const result = game.move(action["direction"] as string);
    return this.observe(result.event, result.reward, result.terminated, result.truncated);
  }

  state(): { [key: string]: Encodable } {
    const game = this.game;
    return {
      episode_id: this.episodeId,
      step_count: game ? game.steps : 0,
      seed: game ? game.seed : null,
      total_reward: new PyFloat(game ? game.totalReward : 0.0),
    };
  }

  tools(): null {
    return null;
  }

  close(): void {
    this.game = null;
  }

  private observe(event: string, reward: number | null, terminated: boolean, truncated: boolean): EnvObservation {
    const game = this.game as Game;
    const metadata = { seed: game.seed };
    return {
      observation: {
        metadata,
        board: game.render(),
        agent: game.position(game.agent),
        goal: game.position(game.layout.goal),
        width: game.layout.width,
        height: game.layout.height,
        steps_taken: game.steps,
        steps_left: game.config.max_steps - game.steps,
        distance_to_goal: game.distanceToGoal,
        event,
      },
      reward,
      terminated,
      truncated,
      metadata,
    };
  }
}

function validateMoveAction(action: JsonObject): void {
  const problems = [];
  for (const key of Object.keys(action)) {
    if (key !== "direction" && key !== "metadata") {
      problems.push(issue("extra_forbidden", [key], "Extra inputs are not permitted", action[key]));
    }
  }
  const metadata = action["metadata"];
  if ("metadata" in action && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) {
    problems.push(issue("dict_type", ["metadata"], "Input should be a valid dictionary", metadata));
  }
  const direction = action["direction"];
  if (!("direction" in action)) {
    problems.push(issue("missing", ["direction"], "Field required", action));
  } else if (typeof direction !== "string" || !Object.hasOwn(DIRECTIONS, direction)) {
    problems.push(
      issue("literal_error", ["direction"], "Input should be 'north', 'south', 'east' or 'west'", direction),
    );
  }
  if (problems.length > 0) throw new InvalidRequest("Invalid message", problems);
}

const POSITION = {
  maxItems: 2,
  minItems: 2,
  prefixItems: [{ type: "integer" }, { type: "integer" }],
  type: "array",
};

export const gridworldDefinition: EnvironmentDefinition = {
  name: "gridworld_env",
  version: "1.0.0",
  description:
    "Seeded, deterministic grid world: reach the goal, avoid traps. Typed MoveAction, text board plus structured fields, dense reward; terminated on goal or trap, truncated at the step limit.",
  hasTools: false,
  resetParameters: RESET_PARAMETERS,
  validateAction: validateMoveAction,
  create: () => new GridWorldEnvironment(),
  schemas: {
    action: {
      additionalProperties: false,
      description: "Move the agent one cell.",
      properties: {
        metadata: { additionalProperties: true, description: "Free-form action metadata.", title: "Metadata", type: "object" },
        direction: { enum: ["north", "south", "east", "west"], title: "Direction", type: "string" },
      },
      required: ["direction"],
      title: "MoveAction",
      type: "object",
    },
    observation: {
      additionalProperties: false,
      description: "The board after a move (or after reset).",
      properties: {
        done: { default: false, title: "Done", type: "boolean" },
        terminated: { default: false, title: "Terminated", type: "boolean" },
        truncated: { default: false, title: "Truncated", type: "boolean" },
        reward: { anyOf: [{ type: "number" }, { type: "null" }], default: null, title: "Reward" },
        metadata: { additionalProperties: true, title: "Metadata", type: "object" },
        board: { description: "Rows of '#' wall, '.' floor, 'X' trap, 'G' goal, 'A' agent.", title: "Board", type: "string" },
        agent: { description: "Agent (row, column).", title: "Agent", ...POSITION },
        goal: { title: "Goal", ...POSITION },
        width: { title: "Width", type: "integer" },
        height: { title: "Height", type: "integer" },
        steps_taken: { title: "Steps Taken", type: "integer" },
        steps_left: { title: "Steps Left", type: "integer" },
        distance_to_goal: { description: "Shortest safe path length; -1 on a trap.", title: "Distance To Goal", type: "integer" },
        event: { default: "start", enum: ["start", "moved", "blocked", "goal", "trap"], title: "Event", type: "string" },
      },
      required: ["board", "agent", "goal", "width", "height", "steps_taken", "steps_left", "distance_to_goal"],
      title: "GridObservation",
      type: "object",
    },
    state: {
      additionalProperties: true,
      description: "Episode state plus the seed (to replay it) and the reward so far.",
      properties: {
        episode_id: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Episode Id" },
        step_count: { default: 0, minimum: 0, title: "Step Count", type: "integer" },
        seed: { anyOf: [{ type: "integer" }, { type: "null" }], title: "Seed" },
        total_reward: { title: "Total Reward", type: "number" },
      },
      required: ["seed", "total_reward"],
      title: "GridState",
      type: "object",
    },
    reset_observation: null,
  },
};
