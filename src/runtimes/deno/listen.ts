/**
 * Deno: `Deno.serve`, drained with its `shutdown()`.
 *
 * `shutdown()` stops accepting, closes idle connections and waits for the others with no limit
 * and no way to force it (aborting `Deno.serve`'s `signal` closes everything at once, and after
 * `shutdown()` it throws). So the cut is the runtime's own: requests whose handler is still
 * running are answered with a 503 whose body fails, and stream bodies are made to fail. Either
 * way the client sees the connection break, never a complete-looking response, and
 * `shutdown()` can settle.
 *
 * @module
 */
import { attachWebSocketHost } from "../../core/websocket.ts";
import type { Listener, ListenOptions } from "../types.ts";
import { InFlight } from "./in_flight.ts";
import { ERROR_BODY, watchingSent } from "./sent.ts";
import { denoWebSocketHost } from "./websocket.ts";

/** The part of Deno's API used here, typed so that tsc checks it too. */
interface DenoServe {
  serve(
    options: {
      /** Either `hostname` and `port`, or `path` (a unix socket). */
      hostname?: string;
      port?: number;
      path?: string;
      reusePort?: boolean;
      cert?: string;
      key?: string;
      onListen: () => void;
      onError: (error: unknown) => Response;
    },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): {
    addr: { hostname: string; port: number } | { path: string };
    shutdown(): Promise<void>;
  };
}

const Deno = (globalThis as unknown as { Deno: DenoServe }).Deno;

/**
 * Binds `Deno.serve` and serves `handler` on it. With `tls`, Deno offers HTTP/2 by ALPN beside
 * HTTP/1.1 whether `http2` is asked for or not; `keepAliveTimeout` has nothing to set: Deno
 * keeps an idle keep-alive connection until its client closes it.
 */
// async: what Deno.serve throws at once (AddrInUse) becomes a rejection.
// deno-lint-ignore require-await
export async function listen(
  { handler, hostname, port, unix, tls, reusePort, log, onSent }: ListenOptions,
): Promise<Listener> {
  const inFlight = new InFlight();
  const websockets = denoWebSocketHost();
  const serveTracked = (request: Request, info: unknown) => {
    // For `upgradeWebSocket`: the app sees `info` as `c.env`.
    attachWebSocketHost(info as object, websockets);
    if (inFlight.reason !== undefined) return InFlight.cutResponse(inFlight.reason);
    return inFlight.serve(request, handler(request, info));
  };
  const server = Deno.serve(
    {
      ...(unix === undefined ? { hostname, port, reusePort } : { path: unix }),
      ...tls,
      onListen: () => {}, // no "Listening on" line of Deno's own
      onError: (error) => {
        // Deno reports a body that failed here too: a cut one is no server error.
        if (error !== inFlight.reason) {
          log.error(`Request failed: ${String(error)}`, { err: error });
        }
        return new Response(ERROR_BODY, { status: 500 });
      },
    },
    onSent === undefined ? serveTracked : watchingSent(serveTracked, onSent),
  );
  const { addr } = server;
  return {
    hostname: "hostname" in addr ? addr.hostname : "",
    port: "port" in addr ? addr.port : 0,
    websockets: websockets.sockets,
    drain() {
      // Deno closes a keep-alive connection once its response is sent; saying so lets the
      // client know not to send its next request on it.
      inFlight.draining = true;
      return server.shutdown();
    },
    // Every handler is answered and every stream fails now, so the connections end; but a
    // client that stopped reading holds its connection whatever the body (a failed stream is
    // seen only once the write in progress, which waits on that client, is done), and nothing
    // can cut it: the drain lets it go after its deadline, and the process stays up until the
    // client goes (run() ends it).
    cut: (reason) => inFlight.cutAll(reason),
    describe: () => "connections (a client that stopped reading?)",
    open: () => ({ requests: inFlight.requests() }),
  };
}
