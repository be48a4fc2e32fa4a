/**
 * Node: `node:http` (or `node:https`) with `@hono/node-server`'s request listener.
 *
 * @module
 */
import { getRequestListener } from "@hono/node-server";
import cluster from "node:cluster";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createSecureServer } from "node:https";
import { processRuntime } from "./_process.ts";
import type { AddressInfo, Socket } from "node:net";
import { settlesWithin } from "../timers.ts";
import type { Listener, ListenOptions, Runtime } from "./types.ts";
import { closingWebSockets } from "./_websocket.ts";
import { serveWebSockets } from "./_websocket_node.ts";

async function listen({ handler, hostname, port, tls }: ListenOptions): Promise<Listener> {
  const requestListener = getRequestListener(handler);
  let draining = false;

  const onRequest = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    // During the drain, a response on a keep-alive connection would keep it open until its
    // keep-alive timeout: ask the client to close it instead.
    if (draining) outgoing.setHeader("connection", "close");
    void requestListener(incoming, outgoing);
  };
  const server = tls
    ? createSecureServer({ cert: tls.cert, key: tls.key }, onRequest)
    : createServer(onRequest);
  // Upgrade requests come on the `upgrade` event, not as requests: they go to the app there.
  const websockets = serveWebSockets(server, handler, onRequest);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => console.error("Server error:", error));
  // Connections, not requests, are tracked: the drain needs the responses in flight when it
  // starts, and a keep-alive connection carries many requests for one entry here.
  const sockets = new Set<Socket>();
  server.on(tls ? "secureConnection" : "connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const address = server.address() as AddressInfo;

  return closingWebSockets({
    hostname: address.address,
    port: address.port,
    async close(gracefulTimeout) {
      draining = true;
      for (const socket of sockets) {
        // The response in flight on the connection (Node's own link, as http-terminator uses).
        const outgoing = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (outgoing && !outgoing.headersSent) {
          outgoing.setHeader("connection", "close");
        }
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A connection whose response was already on its way goes idle when it ends: close it
      // then, not at its keep-alive timeout. Polled during the drain only, off the request path.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 10);
      try {
        if (await settlesWithin(closed, gracefulTimeout)) return false;
        server.closeAllConnections();
        await closed;
        return true;
      } finally {
        clearInterval(idleSweep);
      }
    },
  }, websockets);
}

/** The Node runtime. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  // node:cluster re-runs argv[1] with execArgv (`--import tsx` carries over), and its workers'
  // `listen` shares the primary's socket: Node 20 has no reusePort.
  startWorker: (env) => Promise.resolve(cluster.fork(env).process),
};
