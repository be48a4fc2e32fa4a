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
import { counted } from "../responses.ts";
import type { Listener, ListenOptions, SentResponse } from "../types.ts";
import { hasStreamBody, staticBodyBytes } from "./_internals.ts";
import { InFlight } from "./in_flight.ts";
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

/** What `Deno.serve` gives a handler besides the request (the part used here). */
interface ServeInfo {
  readonly remoteAddr: { readonly transport: string; readonly hostname?: string };
  /** Settles once the response has been sent in full, or given up on. */
  readonly completed?: Promise<void>;
}

/** What Deno's `onError` answers: a handler that threw gets this. */
const ERROR_BODY = "Internal Server Error";

/**
 * `serve`, telling `onSent` of each response once Deno has sent it (`info.completed`). A body
 * that is a stream is counted as it is read; the size of another is read from the response
 * (see `_internals.ts`). Deno does not say which protocol a request came by: one with no
 * `host` header, which HTTP/1.1 requires and HTTP/2 replaces with `:authority`, is taken for
 * HTTP/2.
 */
function watchingSent(
  serve: (request: Request, info: unknown) => Response | Promise<Response>,
  onSent: (sent: SentResponse) => void,
): (request: Request, info: unknown) => Response | Promise<Response> {
  return (request, info) => {
    const startedAt = performance.now();
    const { remoteAddr, completed } = info as ServeInfo;
    // Read now: once the response is sent, the request is closed and its headers are gone.
    const { method, url } = request;
    const protocol = request.headers.has("host") ? "HTTP/1.1" : "HTTP/2";
    const tell = (status: number, bytes: () => number | null) => {
      const done = () =>
        onSent({
          method,
          url,
          status,
          bytes: bytes(),
          startedAt,
          remote: remoteAddr.transport === "unix" ? null : remoteAddr.hostname ?? null,
          protocol,
        });
      if (completed === undefined) done();
      else completed.then(done, done);
    };
    const sent = (response: Response): Response => {
      if (!hasStreamBody(response)) {
        tell(response.status, () => staticBodyBytes(response));
        return response;
      }
      const counter = { bytes: 0 };
      tell(response.status, () => counter.bytes);
      return new Response(counted(response.body!, counter), response);
    };
    const failed = (error: unknown): never => {
      tell(500, () => ERROR_BODY.length);
      throw error;
    };
    let result: Response | Promise<Response>;
    try {
      result = serve(request, info);
    } catch (error) {
      return failed(error);
    }
    return result instanceof Promise ? result.then(sent, failed) : sent(result);
  };
}

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
