/**
 * Node: `node:http`, `node:https`, or `node:http2` (HTTP/2 and HTTP/1.1 on one TLS port) with
 * `@hono/node-server`'s request listener, which takes the requests of either.
 *
 * @module
 */
import { getRequestListener } from "@hono/node-server";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";
import { MAX_TIMER_DELAY } from "../../core/timers.ts";
import type { Listener, ListenOptions } from "../types.ts";
import { stopAccepting } from "./_internals.ts";
import { markStarted, trackConnections } from "./connections.ts";
import { CountedHttp2Response, CountedResponse, whenSent } from "./sent.ts";
import { serveWebSockets } from "./websocket.ts";

/** Node's own keep-alive timeout of `node:http`, which `node:http2` has only from Node 24. */
const NODE_KEEP_ALIVE_TIMEOUT = 5000;

/** Binds `node:http` (`node:https` with `tls`, `node:http2` with `http2`) and serves `handler`. */
export async function listen(
  { handler, hostname, port, unix, tls, http2 = false, keepAliveTimeout, log, onSent }:
    ListenOptions,
): Promise<Listener> {
  const requestListener = getRequestListener(handler);
  let draining = false;
  const onRequest = (
    incoming: IncomingMessage | Http2ServerRequest,
    outgoing: ServerResponse | Http2ServerResponse,
  ) => {
    if (incoming.httpVersionMajor === 1) {
      markStarted(incoming as IncomingMessage);
      // During the drain, a response on a keep-alive connection would keep it open until its
      // keep-alive timeout: ask the client to close it instead. (HTTP/2 has GOAWAY for that,
      // and no `connection` header.)
      if (draining) outgoing.setHeader("connection", "close");
    }
    if (onSent !== undefined) whenSent(incoming, outgoing, onSent);
    void requestListener(incoming, outgoing);
  };
  // The access log's responses count their body bytes; without it, Node's own are used.
  // node:https and node:http2 are loaded only with `tls`: a plain server never needs them.
  const counted = onSent === undefined ? {} : { ServerResponse: CountedResponse };
  const server = http2 && tls
    ? (await import("node:http2")).createSecureServer({
      ...tls,
      allowHTTP1: true,
      ...(onSent === undefined
        ? {}
        : { Http1ServerResponse: CountedResponse, Http2ServerResponse: CountedHttp2Response }),
    }, onRequest)
    : tls
    ? (await import("node:https")).createServer({ ...tls, ...counted }, onRequest)
    : createServer(counted, onRequest);
  // Node takes 0 for no limit, and fires a longer timer than it keeps after 1 ms.
  const keepAlive = keepAliveTimeout === undefined
    ? NODE_KEEP_ALIVE_TIMEOUT
    : keepAliveTimeout > MAX_TIMER_DELAY
    ? 0
    : keepAliveTimeout;
  // The HTTP/2 server's HTTP/1.1 connections are `node:http`'s, which read it there too (Node
  // 24 sets it; before, they had none and stayed open while the client kept them).
  if (keepAliveTimeout !== undefined || http2) {
    (server as { keepAliveTimeout: number }).keepAliveTimeout = keepAlive;
  }
  // Upgrade requests come on the `upgrade` event, not as requests: they go to the app there.
  // (On the HTTP/2 server, over HTTP/1.1: WebSockets over HTTP/2, RFC 8441, are not served.)
  const websockets = serveWebSockets(server, handler, onRequest, log);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      resolve();
    };
    if (unix !== undefined) server.listen(unix, listening);
    else server.listen(port, hostname, listening);
  });
  server.on("error", (error) => log.error(`Server error: ${error.message}`, { err: error }));
  // Connections, not requests, are tracked: a keep-alive connection carries many requests for
  // one entry; an HTTP/2 session is one connection too.
  const connections = trackConnections(server, {
    secure: tls !== undefined,
    http2,
    sessionIdleTimeout: keepAlive,
  });
  // A unix socket's address is its path.
  const address = server.address() as AddressInfo | string;

  return {
    hostname: typeof address === "string" ? "" : address.address,
    port: typeof address === "string" ? 0 : address.port,
    websockets,
    async drain() {
      draining = true;
      const closed = new Promise<void>((resolve) => stopAccepting(server, resolve));
      connections.drain();
      try {
        await closed;
      } finally {
        connections.stopSweep();
        server.close(); // clears Node's own timer for the connections' timeouts
      }
    },
    cut: () => connections.cut(),
    abandon: () => connections.stopSweep(),
    describe: () => `${connections.size} connection(s)`,
    open: () => ({ requests: connections.requests(), connections: connections.size }),
  };
}
