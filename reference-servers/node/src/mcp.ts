/**
 * JSON-RPC 2.0 / MCP subset for `mcp` frames on `/ws` and for `POST /mcp` (spec/mcp.md).
 *
 * Methods: `initialize`, `ping`, `tools/list`, `tools/call`; anything else (including
 * `openenv/session/*`, not implemented here) is `-32601`, and a `params.session_id` on `tools/*`
 * names no known session (`-32602`, OE-MCP-033). A well-formed request without `id` is a
 * notification and gets no response whatever its method (OE-MCP-004); a malformed message gets
 * `-32600`, with `id` null when it has none (OE-MCP-003); MCP 2026-07-28 is not served (its
 * `server/discover` is `-32601`, OE-MCP-040 being a SHOULD); an unknown tool or bad arguments `-32602` (OE-MCP-011/012); a tool that runs and
 * throws is a result with `isError: true` (OE-MCP-014). An environment without tools answers
 * `tools/*` with `-32601` (OE-MCP-015). Tool calls never count as steps (OE-MCP-017).
 */
import type { Environment, EnvironmentDefinition } from "./env.js";
import type { JsonRpcErrorResponse } from "./generated/JsonRpcErrorResponse.js";
import type { JsonRpcSuccessResponse } from "./generated/JsonRpcSuccessResponse.js";
import { log } from "./faults.js";
import { bounded } from "./host.js";
import { type Encodable, isObject, type JsonObject } from "./json.js";
import { findTool, mcpCallResult, mcpFailedResult, ToolCallFailed } from "./tools.js";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

export const MCP_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const;
const ALLOWED_MEMBERS = new Set(["jsonrpc", "id", "method", "params"]);

type RpcId = string | number | null;
export type RpcResponse = { [key: string]: Encodable };

export function rpcError(id: RpcId, code: number, message: string): RpcResponse {
  const response: JsonRpcErrorResponse = { jsonrpc: "2.0", id, error: { code, message } };
  return { jsonrpc: response.jsonrpc, id: response.id, error: { code, message } };
}

function rpcResult(id: RpcId, result: { [key: string]: Encodable }): RpcResponse {
  const response: Pick<JsonRpcSuccessResponse, "jsonrpc" | "id"> = { jsonrpc: "2.0", id };
  return { ...response, result };
}

class MethodNotFound extends Error {}

/** Where tool calls run: the session's instance, or a fresh one per call (stateless HTTP). */
export interface ToolHost {
  readonly definition: EnvironmentDefinition;
  readonly serverName: string;
  readonly serverVersion: string;
  readonly stepTimeoutS: number;
  /** The session's environment, or null to use a fresh instance for each call. */
  readonly env: Environment | null;
}

/** Whether `message` is a well-formed notification (a request without `id`). */
export function isNotification(message: unknown): boolean {
  if (!isObject(message) || "id" in message || message["jsonrpc"] !== "2.0") return false;
  const method = message["method"];
  const params = "params" in message ? message["params"] : {};
  const extra = Object.keys(message).filter((key) => !ALLOWED_MEMBERS.has(key));
  return typeof method === "string" && method.length > 0 && isObject(params) && extra.length === 0;
}

/** The JSON-RPC response to `message`, or null for a notification. */
export async function handleRpc(host: ToolHost, message: unknown): Promise<RpcResponse | null> {
  if (!isObject(message)) return rpcError(null, INVALID_REQUEST, "Invalid request: expected a JSON object");
  const notification = !("id" in message);
  const id = message["id"];
  if (!notification && !(id === null || typeof id === "string" || (typeof id === "number" && Number.isInteger(id)))) {
    return rpcError(null, INVALID_REQUEST, "Invalid request: id must be a string, an integer or null");
  }
  const method = message["method"];
  const params = "params" in message ? message["params"] : {};
  const extra = Object.keys(message).filter((key) => !ALLOWED_MEMBERS.has(key));
  let problem: string | null = null;
  if (message["jsonrpc"] !== "2.0") problem = "jsonrpc must be '2.0'";
  else if (typeof method !== "string" || method.length === 0) problem = "method must be a non-empty string";
  else if (!isObject(params)) problem = "params must be an object";
  else if (extra.length > 0) problem = `unexpected members: ${extra.sort().join(", ")}`;
  if (notification) return problem === null ? null : rpcError(null, INVALID_REQUEST, `Invalid request: ${problem}`);
  const requestId = id as RpcId;
  if (problem !== null) return rpcError(requestId, INVALID_REQUEST, `Invalid request: ${problem}`);
  try {
    return rpcResult(requestId, await call(host, method as string, params as JsonObject));
  } catch (error) {
    if (error instanceof ToolCallFailed) return rpcError(requestId, INVALID_PARAMS, error.message);
    if (error instanceof MethodNotFound) return rpcError(requestId, METHOD_NOT_FOUND, `Method not found: ${method}`);
    log(`JSON-RPC ${String(method)} failed:`, error);
    return rpcError(requestId, INTERNAL_ERROR, `Internal error while serving ${String(method)}`);
  }
}

async function call(host: ToolHost, method: string, params: JsonObject): Promise<{ [key: string]: Encodable }> {
  if (method === "initialize") {
    const asked = params["protocolVersion"];
    const supported = MCP_PROTOCOL_VERSIONS as readonly unknown[];
    return {
      protocolVersion: supported.includes(asked) ? (asked as string) : MCP_PROTOCOL_VERSIONS[0],
      capabilities: { tools: { listChanged: false } },
      serverInfo: { name: host.serverName, version: host.serverVersion },
    };
  }
  if (method === "ping") return {};
  if ((method === "tools/list" || method === "tools/call") && "session_id" in params) {
    // No `openenv/session/create` here, so no session id is ever known (OE-MCP-033).
    throw new ToolCallFailed("invalid_args", `Unknown session_id: ${JSON.stringify(params["session_id"])}`);
  }
  if ((method === "tools/list" || method === "tools/call") && !host.definition.hasTools) throw new MethodNotFound();
  if (method === "tools/list") {
    const env = host.env ?? host.definition.create();
    try {
      const tools = env.tools() ?? [];
      return {
        tools: tools.map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })),
      };
    } finally {
      if (host.env === null) env.close();
    }
  }
  if (method === "tools/call") {
    const name = params["name"];
    const args = "arguments" in params ? params["arguments"] : {};
    if (typeof name !== "string" || !isObject(args)) {
      throw new ToolCallFailed("invalid_args", "tools/call needs params {name: string, arguments: object}");
    }
    const env = host.env ?? host.definition.create();
    try {
      const found = findTool(env.tools() ?? [], name, args);
      try {
        return mcpCallResult(await bounded(() => found.tool.run(found.args), host.stepTimeoutS, "tools/call"));
      } catch (error) {
        return mcpFailedResult(name, error);
      }
    } finally {
      if (host.env === null) env.close();
    }
  }
  throw new MethodNotFound();
}
