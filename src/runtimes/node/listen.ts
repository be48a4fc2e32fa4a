/**
 * Node: `node:http` (or `node:https`) with `@hono/node-server`'s request listener.
 *
 * @module
 */
import { getRequestListener } from "@hono/node-server";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createSecureServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { InFlightRequest } from "../../core/drain.ts";
import type { Listener, ListenOptions } from "../types.ts";
import { idle, internals, responseOn, stopAccepting } from "./_internals.ts";
import { serveWebSockets } from "./websocket.ts";

/** Binds `node:http` (or `node:https` with `tls`) and serves `handler` on it. */
export async function listen(
  { handler, hostname, port, tls, log }: ListenOptions,
): Promise<Listener> {
  const requestListener = getRequestListener(handler);
  let draining = false;
  const onRequest = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    // All a cut needs to name the request (its method and URL are on it already): no closure,
    // no set; the requests in flight are found through their connections.
    (incoming as Started)[STARTED] = Date.now();
    // During the drain, a response on a keep-alive connection would keep it open until its
    // keep-alive timeout: ask the client to close it instead.
    if (draining) outgoing.setHeader("connection", "close");
    void requestListener(incoming, outgoing);
  };
  const server = tls ? createSecureServer(tls, onRequest) : createServer(onRequest);
  // Upgrade requests come on the `upgrade` event, not as requests: they go to the app there.
  const websockets = serveWebSockets(server, handler, onRequest, log);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log.error(`Server error: ${error.message}`, { err: error }));
  // Connections, not requests, are tracked: a keep-alive connection carries many requests for
  // one entry here. Every TCP connection, for the cut: also those still in a TLS handshake or
  // an upgrade, which `closeAllConnections()` does not touch. With TLS, also the TLS sockets,
  // which carry the response in flight.
  const connections = new Set<Socket>();
  const track = (set: Set<Socket>) => (socket: Socket) => {
    set.add(socket);
    socket.once("close", () => set.delete(socket));
  };
  server.on("connection", track(connections));
  const carriers = tls ? new Set<Socket>() : connections;
  if (tls) server.on("secureConnection", track(carriers));
  // Upgraded sockets (WebSockets, or upgrades the app is still answering) are no HTTP
  // connections: they drain with the WebSockets, or are cut.
  const upgraded = new WeakSet<Duplex>();
  server.on("upgrade", (_incoming: IncomingMessage, socket: Duplex) => upgraded.add(socket));
  const closeIdle = internals["socket._httpMessage"]
    ? () => {
      for (const socket of carriers) if (!upgraded.has(socket) && idle(socket)) socket.destroy();
    }
    : () => server.closeIdleConnections();
  const { address, port: bound } = server.address() as AddressInfo;
  let idleSweep: ReturnType<typeof setInterval> | undefined;

  return {
    hostname: address,
    port: bound,
    websockets,
    async drain() {
      draining = true;
      // The responses already in flight get the same request to close.
      for (const socket of carriers) {
        const outgoing = responseOn(socket);
        if (outgoing && !outgoing.headersSent) outgoing.setHeader("connection", "close");
      }
      const closed = new Promise<void>((resolve) => stopAccepting(server, resolve));
      // A connection whose response is still on its way goes idle once it is sent in full:
      // close it then, not at its keep-alive timeout. Polled during the drain only.
      closeIdle();
      idleSweep = setInterval(closeIdle, 10);
      try {
        await closed;
      } finally {
        clearInterval(idleSweep);
        server.close(); // clears Node's own timer for the connections' timeouts
      }
    },
    cut() {
      server.closeAllConnections();
      for (const socket of connections) socket.destroy();
    },
    abandon() {
      clearInterval(idleSweep);
    },
    describe: () => `${connections.size} connection(s)`,
    open: () => ({ requests: inFlight(carriers), connections: connections.size }),
  };
}

const STARTED: unique symbol = Symbol("startedAt");
type Started = IncomingMessage & { [STARTED]?: number };

/** The requests whose response is still on its way on `carriers` (none known without it). */
function inFlight(carriers: Iterable<Socket>): InFlightRequest[] {
  const requests: InFlightRequest[] = [];
  if (!internals["socket._httpMessage"]) return requests;
  for (const socket of carriers) {
    if (idle(socket)) continue;
    const { method = "GET", url = "/", [STARTED]: startedAt = Date.now() } = responseOn(
      socket,
    )!.req as Started;
    requests.push({ method, url, startedAt });
  }
  return requests;
}
