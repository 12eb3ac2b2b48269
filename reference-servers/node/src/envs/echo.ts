/**
 * The echo environment: two MCP tools, driven by tool-call step actions or by JSON-RPC.
 *
 * Tools: `echo_message(message)` → the message; `echo_with_length(message)` →
 * `{message, length}` (length in code points, as Python's `len`).
 * Step actions: `{"type":"call_tool","tool_name":…,"arguments":{…}}` (type optional) and
 * `{"type":"list_tools"}`; both count as steps. A tool that cannot run (unknown, bad arguments) is
 * an observation with `error`, not a protocol error. Observations are shaped exactly like the
 * Python runtime's `CallToolObservation` / `ListToolsObservation` (and 0.10's echo_env): reset gives
 * `{"metadata":{"status":"ready","message":"Echo environment ready!"}}` with reward `null`.
 * `reset` accepts any parameters (Python's `**kwargs`).
 */
import { randomUUID } from "node:crypto";

import type { EnvironmentDefinition, Environment, EnvObservation, ResetParams } from "../env.js";
import { type Encodable, isObject, type JsonObject } from "../json.js";
import { InvalidRequest, type Issue, issue } from "../protocol/issues.js";
import { findTool, ToolCallFailed, toolResult, type ToolSpec } from "../tools.js";

const READY = { status: "ready", message: "Echo environment ready!" } as const;

const MESSAGE_SCHEMA: JsonObject = {
  additionalProperties: false,
  properties: { message: { type: "string" } },
  required: ["message"],
  type: "object",
};

/** Python `len(str)`: code points, not UTF-16 units. */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export const ECHO_TOOLS: readonly ToolSpec[] = [
  {
    name: "echo_message",
    description: "Echo back the provided message.",
    inputSchema: MESSAGE_SCHEMA,
    run: (args) => args["message"] as string,
  },
  {
    name: "echo_with_length",
    description: "Echo back the message together with its length.",
    inputSchema: MESSAGE_SCHEMA,
    run: (args) => {
      const message = args["message"] as string;
      return { message, length: codePoints(message) };
    },
  },
];

function observe(observation: { [key: string]: Encodable }): EnvObservation {
  return { observation, reward: null, terminated: false, truncated: false, metadata: {} };
}

class EchoEnvironment implements Environment {
  private episodeId: string | null = null;
  private stepCount = 0;

  reset(params: ResetParams): EnvObservation {
    const requested = params["episode_id"];
    this.episodeId = typeof requested === "string" && requested.length > 0 ? requested : randomUUID();
    this.stepCount = 0;
    return {
      observation: { metadata: { ...READY } },
      reward: null,
      terminated: false,
      truncated: false,
      metadata: { ...READY },
    };
  }

  async step(action: JsonObject): Promise<EnvObservation> {
    this.stepCount += 1;
    if (actionKind(action) === "list_tools") {
      const tools = ECHO_TOOLS.map((tool) => ({
        name: tool.name,
        description: tool.description,
        input_schema: tool.inputSchema,
      }));
      return observe({ metadata: {}, tools });
    }
    const name = action["tool_name"] as string;
    const args = (action["arguments"] ?? {}) as JsonObject;
    try {
      const found = findTool(ECHO_TOOLS, name, args);
      const value = await found.tool.run(found.args);
      return observe({ metadata: {}, tool_name: name, result: toolResult(value), error: null });
    } catch (error) {
      if (!(error instanceof ToolCallFailed)) throw error;
      const failure = { error_type: error.errorType, message: error.message };
      return observe({ metadata: {}, tool_name: name, result: null, error: failure });
    }
  }

  state(): { [key: string]: Encodable } {
    return { episode_id: this.episodeId, step_count: this.stepCount };
  }

  tools(): readonly ToolSpec[] {
    return ECHO_TOOLS;
  }

  close(): void {}
}

/** `call_tool` or `list_tools`, as Python's smart union resolves a (valid) action. */
function actionKind(action: JsonObject): "call_tool" | "list_tools" {
  const kind = action["type"];
  if (kind === "call_tool" || kind === "list_tools") return kind;
  return "tool_name" in action || "arguments" in action ? "call_tool" : "list_tools";
}

function validateEchoAction(action: JsonObject): void {
  const problems: Issue[] = [];
  const kind = action["type"];
  if ("type" in action && kind !== "call_tool" && kind !== "list_tools") {
    problems.push(issue("literal_error", ["type"], "Input should be 'call_tool' or 'list_tools'", kind));
  }
  const resolved = actionKind(action);
  const allowed = resolved === "call_tool" ? ["type", "tool_name", "arguments", "metadata"] : ["type", "metadata"];
  for (const key of Object.keys(action)) {
    if (!allowed.includes(key)) problems.push(issue("extra_forbidden", [key], "Extra inputs are not permitted", action[key]));
  }
  if ("metadata" in action && !isObject(action["metadata"])) {
    problems.push(issue("dict_type", ["metadata"], "Input should be a valid dictionary", action["metadata"]));
  }
  if (resolved === "call_tool") {
    const name = action["tool_name"];
    if (!("tool_name" in action)) {
      problems.push(issue("missing", ["tool_name"], "Field required", action));
    } else if (typeof name !== "string") {
      problems.push(issue("string_type", ["tool_name"], "Input should be a valid string", name));
    } else if (name.length === 0) {
      problems.push(issue("string_too_short", ["tool_name"], "String should have at least 1 character", name));
    }
    if ("arguments" in action && !isObject(action["arguments"])) {
      problems.push(issue("dict_type", ["arguments"], "Input should be a valid dictionary", action["arguments"]));
    }
  }
  if (problems.length > 0) throw new InvalidRequest("Invalid message", problems);
}

const METADATA_PROPERTY = { additionalProperties: true, description: "Free-form action metadata.", type: "object" };

export const echoDefinition: EnvironmentDefinition = {
  name: "echo_env",
  version: "1.0.0",
  description: "Echoes messages back through two MCP tools (echo_message, echo_with_length).",
  hasTools: true,
  resetParameters: "any",
  validateAction: validateEchoAction,
  create: () => new EchoEnvironment(),
  schemas: {
    action: {
      anyOf: [
        {
          title: "CallToolAction",
          description: "Call one MCP tool of the environment.",
          type: "object",
          additionalProperties: false,
          properties: {
            metadata: METADATA_PROPERTY,
            type: { const: "call_tool", default: "call_tool", type: "string" },
            tool_name: { minLength: 1, type: "string" },
            arguments: { additionalProperties: true, type: "object" },
          },
          required: ["tool_name"],
        },
        {
          title: "ListToolsAction",
          description: "List the environment's MCP tools.",
          type: "object",
          additionalProperties: false,
          properties: {
            metadata: METADATA_PROPERTY,
            type: { const: "list_tools", default: "list_tools", type: "string" },
          },
        },
      ],
    },
    observation: {
      anyOf: [
        {
          title: "CallToolObservation",
          description: "The outcome of a call_tool action.",
          type: "object",
          additionalProperties: false,
          properties: {
            metadata: { additionalProperties: true, type: "object" },
            tool_name: { type: "string" },
            result: {},
            error: {
              anyOf: [
                {
                  type: "object",
                  properties: { error_type: { type: "string" }, message: { type: "string" } },
                  required: ["error_type", "message"],
                },
                { type: "null" },
              ],
            },
          },
          required: ["tool_name"],
        },
        {
          title: "ListToolsObservation",
          description: "The outcome of a list_tools action.",
          type: "object",
          additionalProperties: false,
          properties: {
            metadata: { additionalProperties: true, type: "object" },
            tools: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  name: { type: "string" },
                  description: { type: "string" },
                  input_schema: { type: "object" },
                },
                required: ["name"],
              },
            },
          },
          required: ["tools"],
        },
      ],
    },
    state: {
      title: "State",
      type: "object",
      additionalProperties: true,
      properties: {
        episode_id: { anyOf: [{ type: "string" }, { type: "null" }] },
        step_count: { minimum: 0, type: "integer" },
      },
      required: ["episode_id", "step_count"],
    },
    reset_observation: {
      title: "ReadyObservation",
      type: "object",
      additionalProperties: false,
      properties: { metadata: { additionalProperties: true, type: "object" } },
      required: ["metadata"],
    },
  },
};
