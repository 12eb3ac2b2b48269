/**
 * The HTTP surface (spec/http.md): `/health`, `/metadata`, `/schema`, `/openapi.json`, stateless
 * `/reset` `/step` `/state`, and `POST /mcp`.
 *
 * Bodies are read up to `max_message_bytes` (413 beyond, OE-LIM-004); malformed bodies get 422 with
 * a `detail` list (OE-HTTP-020, `loc` from `["body", …]`); environment failures 500 with an `error`
 * frame body (OE-HTTP-021); unknown paths 404 and wrong methods 405 with `Allow` (OE-HTTP-025).
 * `/reset`, `/step` and `/state` use a fresh environment per request, closed afterwards, counted
 * against `max_sessions` while in flight (OE-HTTP-010; 503 + Retry-After at capacity). `/step`
 * resets that instance first with no parameters. JSON-RPC notifications get 202 and no body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

import { type Environment, type EnvironmentDefinition, EnvironmentFault, type EnvObservation } from "./env.js";
import { toWire } from "./faults.js";
import type { HealthResponse } from "./generated/HealthResponse.js";
import type { Limits } from "./generated/Limits.js";
import type { MetadataResponse } from "./generated/MetadataResponse.js";
import { bounded, checkResetParams, StepTimedOut } from "./host.js";
import { type Encodable, encodeJson, isObject, type JsonObject, type JsonValue, JsonSyntaxError, parseStrict, PyFloat } from "./json.js";
import { handleRpc, INVALID_REQUEST, isNotification, PARSE_ERROR, rpcError } from "./mcp.js";
import { openapiDocument } from "./openapi.js";
import { SUBPROTOCOL_V1 } from "./protocol/codes.js";
import { InvalidRequest, type Issue, issue } from "./protocol/issues.js";

type Body = { [key: string]: Encodable } | null;
type Handler = (body: Buffer) => Promise<[number, Body]>;

/** An HTTP error reply: `{"detail": …}` unless a whole body is given. */
export class HttpError extends Error {
  readonly body: Body;

  constructor(
    readonly status: number,
    detail: Encodable,
    readonly headers: Record<string, string> = {},
    body?: Body,
  ) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.body = body === undefined ? { detail } : body;
  }
}

export interface HttpHost {
  readonly definition: EnvironmentDefinition;
  readonly limits: Limits;
  readonly retryAfterS: number;
  activeSessions(): number;
  /** Take a capacity slot; false when the server is full. */
  acquire(): boolean;
  release(): void;
}

function httpResult(outcome: EnvObservation): { [key: string]: Encodable } {
  if (outcome.reward !== null && !Number.isFinite(outcome.reward)) {
    throw new EnvironmentFault(`the environment produced a non-finite reward (${outcome.reward})`);
  }
  return {
    observation: outcome.observation,
    reward: outcome.reward === null ? null : new PyFloat(outcome.reward),
    done: outcome.terminated || outcome.truncated,
    metadata: Object.keys(outcome.metadata).length > 0 ? outcome.metadata : null,
  };
}

function invalid(loc: (string | number)[], type: string, msg: string, input?: unknown): HttpError {
  return new HttpError(422, [issue(type, loc, msg, input)]);
}

export class HttpEndpoints {
  private readonly routes: Readonly<Record<string, Readonly<Record<string, Handler>>>>;

  constructor(private readonly host: HttpHost) {
    this.routes = {
      "/health": { GET: async () => [200, this.health()] },
      "/metadata": { GET: async () => [200, this.metadata()] },
      "/schema": { GET: async () => [200, { ...host.definition.schemas }] },
      "/openapi.json": { GET: async () => [200, openapiDocument(host.definition)] },
      "/reset": { POST: (body) => this.reset(body) },
      "/step": { POST: (body) => this.step(body) },
      "/state": { GET: () => this.state() },
      "/mcp": { POST: (body) => this.mcp(body) },
    };
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let status: number;
    let body: Body;
    let headers: Record<string, string> = {};
    try {
      const path = new URL(request.url ?? "/", "http://localhost").pathname;
      const methods = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
      if (methods === undefined) throw new HttpError(404, "Not Found");
      const handler = Object.hasOwn(methods, request.method ?? "") ? methods[request.method as string] : undefined;
      if (handler === undefined) throw new HttpError(405, "Method Not Allowed", { allow: Object.keys(methods).join(", ") });
      [status, body] = await handler(await this.readBody(request));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      status = error.status;
      body = error.body;
      headers = error.headers;
    }
    if (status === 202 || body === null) {
      response.writeHead(status, headers).end();
      return;
    }
    const text = encodeJson(body);
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
    response.end(text);
  }

  /**
   * The request body, or a 413 `HttpError` past `max_message_bytes`. A refused body is still read
   * and dropped (so the client gets the 413 rather than a reset connection) up to four times the
   * limit; beyond that the connection is cut.
   */
  private readBody(request: IncomingMessage): Promise<Buffer> {
    const limit = this.host.limits.max_message_bytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      const refuse = (): void => {
        refused = true;
        chunks.length = 0;
        reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes`));
      };
      if (Number(request.headers["content-length"] ?? "0") > limit) refuse();
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (refused) {
          if (size > limit * 4) request.socket.destroy();
        } else if (size > limit) {
          refuse();
        } else {
          chunks.push(chunk);
        }
      });
      request.on("end", () => {
        if (!refused) resolve(Buffer.concat(chunks));
      });
      request.on("error", (error) => {
        if (!refused) reject(error);
      });
    });
  }

  private static jsonObject(body: Buffer, optional: boolean): JsonObject {
    const text = body.toString("utf8");
    if (text.trim() === "") {
      if (optional) return {};
      throw invalid(["body"], "missing", "Field required");
    }
    let value: JsonValue;
    try {
      value = parseStrict(text);
    } catch (error) {
      const reason = error instanceof JsonSyntaxError ? error.message : "unreadable";
      throw invalid(["body"], "json_invalid", `JSON decode error: ${reason}`);
    }
    if (value === null && optional) return {};
    if (!isObject(value)) throw invalid(["body"], "dict_type", "Input should be an object", value);
    return value;
  }

  private health(): { [key: string]: Encodable } {
    const status: HealthResponse = { status: "healthy" };
    return { ...status, active_sessions: this.host.activeSessions(), max_sessions: this.host.limits.max_sessions };
  }

  private metadata(): { [key: string]: Encodable } {
    const definition = this.host.definition;
    const metadata: MetadataResponse = {
      name: definition.name,
      description: definition.description,
      readme_content: null,
      version: definition.version,
      author: null,
      documentation_url: null,
      protocols: [SUBPROTOCOL_V1],
      limits: { ...this.host.limits },
      capabilities: { mcp: definition.hasTools, http_simulation: true, tasks: false },
    };
    return { ...metadata } as { [key: string]: Encodable };
  }

  /** Run `run` on a fresh environment instance holding a capacity slot. */
  private async withEnv(operation: string, run: (env: Environment) => Promise<{ [key: string]: Encodable }>): Promise<[number, Body]> {
    const host = this.host;
    if (!host.acquire()) {
      throw new HttpError(503, "server at capacity", { "retry-after": String(host.retryAfterS) });
    }
    let env: Environment | null = null;
    try {
      try {
        env = host.definition.create();
      } catch (error) {
        throw new HttpError(500, null, {}, errorBody("FACTORY_ERROR", toWire(error, "factory").message));
      }
      const created = env;
      return [200, await run(created)];
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof StepTimedOut) {
        throw new HttpError(504, `${operation} exceeded the step timeout of ${host.limits.step_timeout_s} s`);
      }
      if (error instanceof InvalidRequest) throw new HttpError(422, error.located(["body"]));
      throw new HttpError(500, null, {}, errorBody("EXECUTION_ERROR", toWire(error, operation).message));
    } finally {
      if (env !== null) env.close();
      host.release();
    }
  }

  private async reset(body: Buffer): Promise<[number, Body]> {
    const data = HttpEndpoints.jsonObject(body, true);
    const params = this.checkReset(data);
    const timeout = this.host.limits.step_timeout_s;
    return this.withEnv("reset", async (env) => httpResult(await bounded(() => env.reset(params), timeout, "reset")));
  }

  private checkReset(data: JsonObject): JsonObject {
    try {
      return checkResetParams(this.host.definition, data, false);
    } catch (error) {
      if (error instanceof InvalidRequest) throw new HttpError(422, error.located(["body"]));
      throw error;
    }
  }

  private async step(body: Buffer): Promise<[number, Body]> {
    const data = HttpEndpoints.jsonObject(body, false);
    const action = data["action"];
    if (!isObject(action)) {
      throw "action" in data
        ? invalid(["body", "action"], "dict_type", "Input should be an object", action)
        : invalid(["body", "action"], "missing", "Field required");
    }
    const problems: Issue[] = [];
    const timeoutS = data["timeout_s"];
    if (timeoutS !== undefined && timeoutS !== null && (typeof timeoutS !== "number" || !(timeoutS > 0))) {
      problems.push(issue("greater_than", ["body", "timeout_s"], "Input should be a number greater than 0", timeoutS));
    }
    const requestId = data["request_id"];
    if (requestId !== undefined && requestId !== null && (typeof requestId !== "string" || requestId.length > 255)) {
      problems.push(issue("string_type", ["body", "request_id"], "Input should be a string of at most 255 characters", requestId));
    }
    try {
      this.host.definition.validateAction(action);
    } catch (error) {
      if (!(error instanceof InvalidRequest)) throw error;
      problems.push(...error.located(["body", "action"]));
    }
    if (problems.length > 0) throw new HttpError(422, problems);
    const timeout = this.host.limits.step_timeout_s;
    return this.withEnv("step", async (env) => {
      await bounded(() => env.reset({}), timeout, "reset");
      return httpResult(await bounded(() => env.step(action), timeout, "step"));
    });
  }

  private async state(): Promise<[number, Body]> {
    const timeout = this.host.limits.step_timeout_s;
    return this.withEnv("state", async (env) => ({ ...(await bounded(() => env.state(), timeout, "state")) }));
  }

  private async mcp(body: Buffer): Promise<[number, Body]> {
    let message: JsonValue;
    try {
      message = parseStrict(body.toString("utf8"));
    } catch {
      return [200, rpcError(null, PARSE_ERROR, "Parse error")];
    }
    if (Array.isArray(message)) {
      if (message.length > 0 && message.every(isNotification)) return [202, null]; // nothing to answer (OE-MCP-009)
      return [200, rpcError(null, INVALID_REQUEST, "Invalid request: batches are not supported")];
    }
    const definition = this.host.definition;
    const response = await handleRpc(
      {
        definition,
        serverName: definition.name,
        serverVersion: definition.version,
        stepTimeoutS: this.host.limits.step_timeout_s,
        env: null,
      },
      message,
    );
    return response === null ? [202, null] : [200, response];
  }
}

function errorBody(code: string, message: string): Body {
  return { type: "error", data: { message, code } };
}
