/**
 * Node: `node:http` (or `node:https`) with `@hono/node-server`'s request listener.
 *
 * @module
 */
import { getRequestListener } from "@hono/node-server";
import cluster from "node:cluster";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createSecureServer } from "node:https";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { settlesWithin } from "../timers.ts";
import type { Listener, ListenOptions, Runtime } from "./types.ts";

async function listen({ handler, hostname, port, tls }: ListenOptions): Promise<Listener> {
  const requestListener = getRequestListener(handler);
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const onRequest = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    // During the drain, a response on a keep-alive connection would keep it open until its
    // keep-alive timeout: ask the client to close it instead.
    if (draining) outgoing.setHeader("connection", "close");
    inFlight.add(outgoing);
    outgoing.once("close", () => {
      inFlight.delete(outgoing);
      if (draining) server.closeIdleConnections();
    });
    void requestListener(incoming, outgoing);
  };
  const server = tls
    ? createSecureServer({ cert: tls.cert, key: tls.key }, onRequest)
    : createServer(onRequest);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => console.error("Server error:", error));
  const address = server.address() as AddressInfo;

  return {
    hostname: address.address,
    port: address.port,
    async close(gracefulTimeout) {
      draining = true;
      for (const outgoing of inFlight) {
        if (!outgoing.headersSent) outgoing.setHeader("connection", "close");
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained = await settlesWithin(closed, gracefulTimeout);
      if (drained) return false;
      server.closeAllConnections();
      await closed;
      return true;
    },
  };
}

/** The Node runtime. */
export const runtime: Runtime = {
  listen,
  onSignal(signal, listener) {
    process.on(signal, listener);
    return () => process.off(signal, listener);
  },
  exit: (code) => process.exit(code),
  setExitCode(code) {
    process.exitCode = code;
  },
  env: (name) => process.env[name],
  // node:cluster re-runs argv[1] with execArgv (`--import tsx` carries over), and its workers'
  // `listen` shares the primary's socket: Node 20 has no reusePort.
  startWorker: (env) => Promise.resolve(cluster.fork(env).process),
};
