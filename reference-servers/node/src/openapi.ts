/**
 * The OpenAPI 3.1 document served at `GET /openapi.json` (OE-HTTP-007): this server's HTTP paths
 * with every status code it can answer and JSON Schemas of the bodies, the environment's own
 * action / observation / state schemas inlined, so that a fuzzer (the conformance suite runs
 * schemathesis) can check each reply against it. `info.version` is the protocol version `1.0.0`.
 */
import type { EnvironmentDefinition } from "./env.js";
import type { JsonObject } from "./json.js";

const ISSUE: JsonObject = {
  type: "object",
  required: ["type", "loc", "msg"],
  properties: {
    type: { type: "string" },
    loc: { type: "array", items: { type: ["string", "integer"] } },
    msg: { type: "string" },
  },
};

function json(schema: JsonObject, description: string): JsonObject {
  return { description, content: { "application/json": { schema } } };
}

const DETAIL = { type: "object", required: ["detail"], properties: { detail: {} } };
const ERROR_FRAME = {
  type: "object",
  required: ["type", "data"],
  properties: {
    type: { const: "error" },
    data: { type: "object", required: ["message", "code"], properties: { message: { type: "string" }, code: { type: "string" } } },
  },
};

const RESPONSES: JsonObject = {
  ValidationFailed: json({ type: "object", required: ["detail"], properties: { detail: { type: "array", minItems: 1, items: ISSUE } } }, "The body or the action failed validation."),
  TooLarge: json(DETAIL, "The body exceeds max_message_bytes."),
  EnvironmentFailed: json(ERROR_FRAME, "The environment failed (an error frame with EXECUTION_ERROR or FACTORY_ERROR)."),
  AtCapacity: {
    ...json(DETAIL, "Every session slot is taken; retry after Retry-After seconds."),
    headers: { "Retry-After": { schema: { type: "integer", minimum: 1 } } },
  },
  TimedOut: json(DETAIL, "The environment exceeded step_timeout_s."),
};

const ref = (name: string): JsonObject => ({ $ref: `#/components/responses/${name}` });

function simulation(result: JsonObject): JsonObject {
  return {
    "200": json(result, "The result."),
    "413": ref("TooLarge"),
    "422": ref("ValidationFailed"),
    "500": ref("EnvironmentFailed"),
    "503": ref("AtCapacity"),
    "504": ref("TimedOut"),
  };
}

export function openapiDocument(definition: EnvironmentDefinition): JsonObject {
  const schemas = definition.schemas;
  const result: JsonObject = {
    type: "object",
    required: ["observation", "reward", "done", "metadata"],
    additionalProperties: false,
    properties: {
      observation: { type: "object" },
      reward: { type: ["number", "null"] },
      done: { type: "boolean" },
      metadata: { type: ["object", "null"] },
    },
  };
  const anyJson = { "application/json": { schema: {} } };
  return {
    openapi: "3.1.0",
    info: {
      title: `${definition.name} — OpenEnv Node reference server`,
      version: "1.0.0",
      description: "Episodes run over WebSocket /ws (subprotocol openenv.v1 for the v1 extensions).",
    },
    paths: {
      "/health": {
        get: {
          operationId: "getHealth",
          responses: {
            "200": json(
              {
                type: "object",
                required: ["status"],
                properties: {
                  status: { enum: ["healthy", "unhealthy", "degraded"] },
                  active_sessions: { type: "integer", minimum: 0 },
                  max_sessions: { type: "integer", minimum: 1 },
                },
              },
              "Liveness and load.",
            ),
          },
        },
      },
      "/metadata": { get: { operationId: "getMetadata", responses: { "200": json({ type: "object", required: ["name", "description"] }, "Metadata.") } } },
      "/schema": {
        get: {
          operationId: "getSchema",
          responses: { "200": json({ type: "object", required: ["action", "observation", "state"] }, "The environment's schemas.") },
        },
      },
      "/reset": {
        post: {
          operationId: "reset",
          requestBody: {
            required: false,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { seed: { type: ["integer", "null"], minimum: 0 }, episode_id: { type: ["string", "null"], maxLength: 255 } },
                },
              },
            },
          },
          responses: simulation(result),
        },
      },
      "/step": {
        post: {
          operationId: "step",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["action"],
                  properties: {
                    action: schemas.action,
                    timeout_s: { type: ["number", "null"], exclusiveMinimum: 0 },
                    request_id: { type: ["string", "null"], maxLength: 255 },
                  },
                },
              },
            },
          },
          responses: simulation(result),
        },
      },
      "/state": { get: { operationId: "getState", responses: { ...simulation(schemas.state) } } },
      "/mcp": {
        post: {
          operationId: "mcp",
          requestBody: { required: true, content: anyJson },
          responses: {
            "200": json(
              { type: "object", required: ["jsonrpc", "id"], properties: { jsonrpc: { const: "2.0" }, id: { type: ["string", "integer", "null"] } } },
              "The JSON-RPC response (errors included).",
            ),
            "202": { description: "A notification: no response body." },
            "413": ref("TooLarge"),
          },
        },
      },
      "/openapi.json": { get: { operationId: "getOpenapi", responses: { "200": json({ type: "object" }, "This document.") } } },
    },
    components: { responses: RESPONSES },
  };
}
