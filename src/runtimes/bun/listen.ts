/**
 * Bun: `Bun.serve`, drained with its `stop()`.
 *
 * @module
 */
import { MAX_TIMER_DELAY } from "../../core/timers.ts";
import { attachWebSocketHost } from "../../core/websocket.ts";
import type { Handler, Listener, ListenOptions } from "../types.ts";
import { RunningRequests } from "./in_flight.ts";
import { ERROR_BODY, watchingSent } from "./sent.ts";
import { bunWebSocketHandler, bunWebSocketHost } from "./websocket.ts";

/** The part of Bun's API used here, typed so that tsc and deno check it too. */
interface BunServe {
  serve(options: {
    /** Either `hostname` and `port`, or `unix` (a socket path). */
    hostname?: string;
    port?: number;
    unix?: string;
    tls?: { cert: string; key: string };
    http2?: boolean;
    /** Seconds a connection may send and receive nothing (at most 255; 0: no limit). */
    idleTimeout?: number;
    reusePort?: boolean;
    development: boolean;
    fetch: Handler;
    error: (error: unknown) => Response;
    /** The socket events of the requests `fetch` upgraded. */
    websocket: unknown;
  }): {
    /** Undefined on a unix socket. */
    hostname?: string;
    port?: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
    unref(): void;
  };
}

const Bun = (globalThis as unknown as { Bun: BunServe }).Bun;

/**
 * Binds `Bun.serve` and serves `handler` on it. `keepAliveTimeout` is Bun's `idleTimeout`, in
 * whole seconds (rounded up, at most 255): it also ends a request whose handler sends nothing
 * for that long.
 */
// async: what Bun.serve throws at once (a busy port) becomes a rejection.
// deno-lint-ignore require-await
export async function listen(
  { handler, hostname, port, unix, tls, http2, keepAliveTimeout, reusePort, log, onSent }:
    ListenOptions,
): Promise<Listener> {
  // The handlers still running, with when each began: to name them if they are cut. (A body
  // still streaming once its handler returned is Bun's to track: it is cut, but not named.)
  const running = new RunningRequests();
  const tracked: Handler = (request, env) => {
    const result = handler(request, env);
    if (!(result instanceof Promise)) return result;
    // Read once the handler awaits: what it did until then takes no time worth telling.
    const key = running.add(request);
    const forget = () => running.delete(key);
    // Beside Bun's own wait on `result`, not in front of it: no step added before it answers.
    result.then(forget, forget);
    return result;
  };
  const server = Bun.serve({
    ...(unix === undefined ? { hostname, port, reusePort } : { unix }),
    tls,
    http2,
    ...(keepAliveTimeout === undefined ? {} : { idleTimeout: idleSeconds(keepAliveTimeout) }),
    // No error page with stack traces for errors that escape the handler.
    development: false,
    fetch: onSent === undefined ? tracked : watchingSent(tracked, onSent, http2 === true),
    error: (error) => {
      log.error(`Request failed: ${String(error)}`, { err: error });
      return new Response(ERROR_BODY, { status: 500 });
    },
    websocket: bunWebSocketHandler,
  });
  // The app sees the server as `c.env`, where Hono's helper and `upgradeWebSocket` look.
  const websockets = bunWebSocketHost();
  attachWebSocketHost(server, websockets);
  // Settles as `stop(true)` does, once the cut called it.
  let cutStop!: (stopped: Promise<void>) => void;
  const cutStopped = new Promise<void>((resolve) => cutStop = resolve);
  return {
    hostname: server.hostname ?? "",
    port: server.port ?? 0,
    websockets: websockets.sockets,
    // stop(false) stops accepting and closes idle keep-alive connections at once; it settles
    // when the in-flight requests, streamed bodies included, are done.
    drain: () => Promise.race([server.stop(false), cutStopped]),
    // stop(true) closes the busy connections: Bun aborts each cut request's `signal` and
    // cancels its response body, so the client sees the connection close (never a complete-
    // looking response) and handlers that honour the signal end.
    cut: () => cutStop(server.stop(true)),
    // stop(true) has been seen never to settle while a handler is pending (bun#40043): the
    // server would then keep the process alive.
    abandon: () => server.unref(),
    describe: () => "connections (Bun's stop(true) did not settle)",
    open: () => ({ requests: running.named() }),
  };
}

/** Bun's `idleTimeout` for `ms`: whole seconds, at most 255; 0 (none) past any timer's reach. */
function idleSeconds(ms: number): number {
  return ms > MAX_TIMER_DELAY ? 0 : Math.min(255, Math.ceil(ms / 1000));
}
