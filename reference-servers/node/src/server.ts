/**
 * `startServer`: one `node:http` server carrying the HTTP surface and the `/ws` upgrade.
 *
 * The upgrade is handled here, not by `ws`: a path other than `/ws` gets 404; a server with
 * `max_sessions` sessions gets HTTP 503 with `Retry-After` and a `CAPACITY_REACHED` error frame as
 * the JSON body *before* any upgrade (OE-LIM-012, OE-V1-070); otherwise a slot is taken and the
 * handshake completed by `ws` in `noServer` mode with permessage-deflate off, `maxPayload` equal
 * to `max_message_bytes`, and `openenv.v1` selected only when offered (OE-V1-002/004). The slot is
 * given back when the session closes or when the handshake fails. `close()` closes every session
 * with 1001 and stops listening (OE-WS-030).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

import { WebSocketServer } from "ws";

import type { CapacityErrorResponse } from "./generated/CapacityErrorResponse.js";
import type { ServerConfig } from "./config.js";
import { log } from "./faults.js";
import { HttpEndpoints } from "./http.js";
import { encodeJson } from "./json.js";
import { ServerSession } from "./protocol/session.js";
import { OpenEnvSocket, WsSession } from "./ws.js";

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  activeSessions(): number;
  close(): Promise<void>;
}

const REASONS: Readonly<Record<number, string>> = { 404: "Not Found", 503: "Service Unavailable" };

function refuse(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  const lines = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const limits = config.limits;
  let active = 0;
  const sessions = new Set<WsSession>();
  const slots = {
    activeSessions: () => active,
    acquire: (): boolean => {
      if (active >= limits.max_sessions) return false;
      active += 1;
      return true;
    },
    release: (): void => {
      active -= 1;
    },
  };
  const http = new HttpEndpoints({ definition: config.env, limits, retryAfterS: config.retryAfterS, ...slots });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: limits.max_message_bytes,
    WebSocket: OpenEnvSocket,
    handleProtocols: (offered: Set<string>) => ServerSession.selectSubprotocol(offered) ?? false,
  });

  const server: Server = createServer((request, response) => {
    http.handle(request, response).catch((error: unknown) => {
      log("HTTP handler failed:", error);
      if (!response.headersSent) {
        const body = encodeJson({ type: "error", data: { message: "internal server error", code: "EXECUTION_ERROR" } });
        response.writeHead(500, { "content-type": "application/json" }).end(body);
      } else {
        response.destroy();
      }
    });
  });

  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== "/ws") {
      refuse(socket, 404, encodeJson({ detail: "Not Found" }));
      return;
    }
    if (!slots.acquire()) {
      const refusal: CapacityErrorResponse = {
        type: "error",
        data: {
          message: `Server at capacity: ${active}/${limits.max_sessions} sessions active. Retry later.`,
          code: "CAPACITY_REACHED",
          active_sessions: active,
          max_sessions: limits.max_sessions,
        },
      };
      refuse(socket, 503, encodeJson({ type: refusal.type, data: { ...refusal.data } }), {
        "Retry-After": String(config.retryAfterS),
      });
      return;
    }
    let adopted = false;
    socket.once("close", () => {
      if (!adopted) slots.release();
    });
    wss.handleUpgrade(request, socket, head, (ws) => {
      adopted = true;
      const mode = ws.protocol === "openenv.v1" ? "v1" : "base";
      const session = new WsSession(
        { definition: config.env, limits, pingIntervalS: config.pingIntervalS },
        ws as OpenEnvSocket,
        mode,
        () => {
          sessions.delete(session);
          slots.release();
        },
      );
      sessions.add(session);
      session.start(url.searchParams.get("session_id"));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    activeSessions: () => active,
    close: async () => {
      for (const session of [...sessions]) session.shutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      wss.close();
    },
  };
}
