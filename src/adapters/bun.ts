/**
 * Bun: `Bun.serve`, stopped with its `stop()`.
 *
 * @module
 */
import process from "node:process";
import { settlesWithin } from "../timers.ts";
import { processRuntime } from "./_process.ts";
import type { Handler, Listener, ListenOptions, Runtime } from "./types.ts";
import { attachWebSocketHost } from "../websocket.ts";
import { closingWebSockets } from "./_websocket.ts";
import { bunWebSocketHandler, bunWebSocketHost } from "./_websocket_bun.ts";

/** The part of Bun's API the adapter uses, typed here so that tsc and deno check it too. */
interface BunApi {
  serve(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    reusePort?: boolean;
    development: boolean;
    fetch: Handler;
    error: (error: unknown) => Response;
    /** The socket events of the requests `fetch` upgraded. */
    websocket: unknown;
  }): {
    hostname: string;
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
    unref(): void;
  };
  /** The entry module's path: what a worker runs again. */
  main: string;
}

const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

function internalError(error: unknown): Response {
  console.error(error);
  return new Response("Internal Server Error", { status: 500 });
}

/** How long `stop(true)` may take before the adapter lets go of the server. */
const FORCE_STOP_TIMEOUT = 1000;

// async: what Bun.serve / Deno.serve throw at once (a busy port) becomes a rejection.
// deno-lint-ignore require-await
async function listen(
  { handler, hostname, port, tls, reusePort }: ListenOptions,
): Promise<Listener> {
  // Bun.serve throws at once when it cannot bind. `development: false`: no error page with
  // stack traces for errors that escape the handler.
  const server = Bun.serve({
    hostname,
    port,
    tls,
    reusePort,
    development: false,
    fetch: handler,
    error: internalError,
    websocket: bunWebSocketHandler,
  });
  // The app sees the server as `c.env`, where Hono's helper and `upgradeWebSocket` look.
  const websockets = bunWebSocketHost();
  attachWebSocketHost(server, websockets);
  return closingWebSockets({
    hostname: server.hostname,
    port: server.port,
    async close(gracefulTimeout) {
      // stop(false) stops accepting and closes idle keep-alive connections at once; it settles
      // when the in-flight requests, streamed bodies included, are done.
      if (await settlesWithin(server.stop(false), gracefulTimeout)) return false;
      // Past the grace period, stop(true) closes the busy connections. Bun then aborts each cut
      // request's `signal` and cancels its response body, so the client sees the connection
      // close (never a complete-looking response) and handlers that honour the signal end. A
      // handler that ignores it keeps only its own timers: the server holds nothing.
      if (await settlesWithin(server.stop(true), FORCE_STOP_TIMEOUT)) return true;
      // stop(true) has been seen never to settle while a handler is pending (bun#40043). The
      // server would then keep the process alive: unref() lets it go, and the connections close
      // when the process exits.
      server.unref();
      console.warn(
        `Bun's server.stop(true) did not settle within ${FORCE_STOP_TIMEOUT} ms: ` +
          "the server no longer keeps the process alive",
      );
      return true;
    },
  }, websockets.sockets);
}

/** The Bun runtime. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  startWorker: async (env) => {
    const { spawnWorker } = await import("./_workers.ts");
    return spawnWorker(
      process.execPath,
      [...process.execArgv, Bun.main, ...process.argv.slice(2)],
      env,
    );
  },
};
