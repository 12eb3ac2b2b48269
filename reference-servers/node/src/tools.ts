/**
 * MCP tools: specs, argument validation and call results shaped like the Python runtime's.
 *
 * A tool declares a flat object `inputSchema` (`properties` with primitive `type`s, `required`,
 * `additionalProperties: false`); `checkArguments` enforces exactly that, strictly typed. A call's
 * result is `{content:[{type:"text",text}], structured_content, data, is_error:false}` (the form
 * the step observation carries); `mcpCallResult` adds the MCP names `structuredContent`/`isError`
 * for `tools/call` (OE-MCP-013). Text of a non-string result is Python's
 * `json.dumps(value, separators=(",", ":"))` (ASCII-escaped), so both runtimes agree byte for byte.
 */
import { type Encodable, encodeJson, isObject, type JsonObject, type JsonValue, PyFloat } from "./json.js";

export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonObject;
  run(args: JsonObject): Encodable | Promise<Encodable>;
}

/** A tool call that could not run: unknown tool or invalid arguments. */
export class ToolCallFailed extends Error {
  constructor(
    readonly errorType: "tool_not_found" | "invalid_args",
    message: string,
  ) {
    super(message);
  }
}

function jsonType(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(expected: unknown, value: JsonValue): boolean {
  const actual = jsonType(value);
  if (expected === undefined) return true;
  if (expected === "number") return actual === "number" || actual === "integer";
  return expected === actual;
}

/** The tool named `name` and its validated arguments. */
export function findTool(
  tools: readonly ToolSpec[],
  name: string,
  args: JsonObject,
): { tool: ToolSpec; args: JsonObject } {
  const tool = tools.find((candidate) => candidate.name === name);
  if (tool === undefined) throw new ToolCallFailed("tool_not_found", `Unknown tool: '${name}'`);
  const problems = checkArguments(tool.inputSchema, args);
  if (problems.length > 0) {
    throw new ToolCallFailed("invalid_args", `invalid arguments for ${name}: ${problems.join("; ")}`);
  }
  return { tool, args };
}

/** Problems of `args` against a flat object schema (empty when valid). */
export function checkArguments(schema: JsonObject, args: JsonObject): string[] {
  const properties = isObject(schema["properties"]) ? schema["properties"] : {};
  const required = Array.isArray(schema["required"]) ? schema["required"] : [];
  const problems: string[] = [];
  for (const name of required) {
    if (typeof name === "string" && !(name in args)) problems.push(`${name}: Field required`);
  }
  for (const [name, value] of Object.entries(args)) {
    const property = properties[name];
    if (!isObject(property)) {
      if (schema["additionalProperties"] === false) problems.push(`${name}: Extra inputs are not permitted`);
      continue;
    }
    if (!typeMatches(property["type"], value)) {
      problems.push(`${name}: Input should be of type ${String(property["type"])}`);
    }
  }
  return problems;
}

/** Python `json.dumps(value, separators=(",", ":"))`: compact, non-ASCII escaped as \uXXXX. */
export function pythonJsonDumps(value: Encodable): string {
  return encodeJson(value).replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A tool's return value as a call result (the step-observation form). */
export function toolResult(value: Encodable): { [key: string]: Encodable } {
  const text = typeof value === "string" ? value : pythonJsonDumps(value);
  const isDict =
    value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof PyFloat);
  const structured = isDict ? value : { result: value };
  return {
    content: [{ type: "text", text }],
    structured_content: structured,
    data: value,
    is_error: false,
  };
}

/** The `tools/call` result: MCP names plus the 0.10 names (OE-MCP-013). */
export function mcpCallResult(value: Encodable): { [key: string]: Encodable } {
  const result = toolResult(value);
  return {
    content: result["content"],
    isError: false,
    structuredContent: result["structured_content"],
    structured_content: result["structured_content"],
    is_error: false,
    data: result["data"],
  };
}

/** The `tools/call` result of a tool that ran and failed (OE-MCP-014). */
export function mcpFailedResult(name: string, error: unknown): { [key: string]: Encodable } {
  const kind = error instanceof Error ? error.constructor.name : "Error";
  return {
    content: [{ type: "text", text: `${name} failed (${kind})` }],
    isError: true,
    is_error: true,
    data: null,
  };
}
