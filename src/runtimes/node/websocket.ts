/**
 * WebSockets on Node: `@hono/node-server`'s helper, with a `ws` server, on the HTTP server's
 * `upgrade` event.
 *
 * @module
 */
import { createAdaptorServer, upgradeWebSocket } from "@hono/node-server";
import { type IncomingMessage, type Server, ServerResponse } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { Server as SecureServer } from "node:https";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { Logger } from "../../core/log.ts";
import { attachWebSocketHost, OpenSockets, type WebSocketHost } from "../../core/websocket.ts";
import type { Handler } from "../types.ts";
import { honoUpgradeTarget } from "./_internals.ts";

/**
 * Answers WebSocket upgrades on `server` with `handler` (the app), and returns the open
 * sockets, drained with the server. Other upgrades (`Upgrade: h2c` from `curl --http2`) get
 * `onRequest`'s plain HTTP answer, as they would with no `upgrade` listener (and as on Deno and
 * Bun).
 */
export function serveWebSockets(
  server: Server | SecureServer | Http2SecureServer,
  handler: Handler,
  onRequest: (incoming: IncomingMessage, outgoing: ServerResponse) => void,
  log: Logger,
): OpenSockets {
  const sockets = new OpenSockets((raw) => (raw as WebSocket).terminate());
  const host: WebSocketHost = { sockets, upgrade: (c, events) => upgradeWebSocket(c, events) };
  // Wired at the first WebSocket upgrade: loading `ws` costs a server that never sees one
  // (most) a noticeable part of its start-up time.
  let target: Promise<Server> | undefined;
  const wire = async (): Promise<Server> => {
    const { WebSocketServer } = await import("ws");
    const upgrades = honoUpgradeTarget(createAdaptorServer({
      // Called only for upgrade requests, with an env built for each.
      fetch: (request: Request, env: object) => {
        attachWebSocketHost(env, host);
        return handler(request, env);
      },
      websocket: { server: new WebSocketServer({ noServer: true }) },
    }) as Server);
    server.once("close", () => upgrades.close()); // closes its `ws` server too
    return upgrades;
  };
  server.on("upgrade", (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (incoming.headers.upgrade?.toLowerCase() !== "websocket") {
      return answerAsRequest(incoming, socket, head, onRequest);
    }
    // The socket stays paused meanwhile: nothing reads it before `ws` does.
    (target ??= wire()).then(
      (upgrades) => upgrades.emit("upgrade", incoming, socket, head),
      (error: unknown) => {
        log.error(`Cannot serve WebSockets: ${String(error)}`, { err: error });
        socket.destroy();
      },
    );
  });
  return sockets;
}

/** Answers an upgrade request the server does not take as an ordinary request, then closes. */
function answerAsRequest(
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onRequest: (incoming: IncomingMessage, outgoing: ServerResponse) => void,
): void {
  if (head.length > 0) socket.unshift(head);
  const outgoing = new ServerResponse(incoming);
  outgoing.shouldKeepAlive = false;
  outgoing.assignSocket(socket as Parameters<ServerResponse["assignSocket"]>[0]);
  outgoing.once("finish", () => {
    outgoing.detachSocket(socket as Parameters<ServerResponse["detachSocket"]>[0]);
    socket.end();
  });
  onRequest(incoming, outgoing);
}
