/**
 * Deno: `Deno.serve`, stopped with its `shutdown()`.
 *
 * `shutdown()` stops accepting, closes idle connections and waits for the others with no limit
 * and no way to force it (aborting `Deno.serve`'s `signal` closes everything at once, and after
 * `shutdown()` it throws). So the adapter bounds the grace period itself: when it ends,
 * requests whose handler is still running are answered with a 503 whose body fails, and stream
 * bodies are made to fail. Either way the client sees the connection break, never a
 * complete-looking response, and `shutdown()` can settle.
 *
 * @module
 */
import { settlesWithin } from "../timers.ts";
import type { Listener, ListenOptions, Runtime } from "./types.ts";
import { attachWebSocketHost } from "../websocket.ts";
import { closingWebSockets } from "./_websocket.ts";
import { denoWebSocketHost } from "./_websocket_deno.ts";

/** The part of Deno's API the adapter uses, typed here so that tsc checks it too. */
interface DenoApi {
  serve(
    options: {
      hostname: string;
      port: number;
      reusePort?: boolean;
      cert?: string;
      key?: string;
      onListen: () => void;
      onError: (error: unknown) => Response;
    },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): {
    addr: { hostname: string; port: number };
    finished: Promise<void>;
    shutdown(): Promise<void>;
  };
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
  exitCode: number;
  env: { get(name: string): string | undefined };
}

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

/** Deno's Node-compatible `process` global, if it has one. */
function nodeProcess(): { exit(code: number): never } | undefined {
  return (globalThis as unknown as { process?: { exit(code: number): never } }).process;
}

/**
 * Deno sends string and byte bodies on a native fast path that wrapping them would lose, and
 * `response.body`, the only public view of a body, turns a string into a stream as well. So
 * stream bodies are told apart by Deno's own record of the body (the slot behind the symbol
 * described "response", whose `body.streamOrStatic` is the stream or the static value),
 * checked once at load. Should a Deno release change that record, every body is taken for a
 * stream: slower, but never impossible to cut.
 */
const responseSlot = Object.getOwnPropertySymbols(new Response(null))
  .find((key) => key.description === "response");

function peekStreamBody(response: Response): boolean {
  const inner: unknown = responseSlot === undefined
    ? undefined
    : (response as unknown as Record<symbol, unknown>)[responseSlot];
  const body: unknown = (inner as { body?: unknown } | undefined)?.body;
  return (body as { streamOrStatic?: unknown } | null | undefined)
    ?.streamOrStatic instanceof ReadableStream;
}

const hasStreamBody: (response: Response) => boolean =
  peekStreamBody(new Response(new ReadableStream())) && !peekStreamBody(new Response("static"))
    ? peekStreamBody
    : (response) => response.body !== null;

/** `response` with `Connection: close`; a copy when its headers are immutable. */
function closingConnection(response: Response): Response {
  if (response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

/**
 * The requests a grace period may have to end: handlers still running, bodies still streaming.
 * Only async handlers and stream bodies are tracked; a string or byte response costs a lookup.
 */
class InFlight {
  /** The `resolve` of each handler still running: the cut answers in its place. */
  readonly #running = new Set<(response: Response) => void>();
  /** Ends one stream body still being sent, with the reason given. */
  readonly #streams = new Set<(reason: Error) => void>();
  /** Set once the grace period is over: what cut requests fail with. */
  reason: Error | undefined;
  /** Set when the drain begins: responses from then on ask the client to close. */
  draining = false;

  /** Answers now with a 503 whose body fails, so that the client sees the response break. */
  static cutResponse(reason: Error): Response {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.error(reason),
    });
    return new Response(body, { status: 503 });
  }

  /** Tracks what a handler returned, until it is sent or cut. */
  serve(result: Response | Promise<Response>): Response | Promise<Response> {
    return result instanceof Promise ? this.#race(result) : this.#track(result);
  }

  /** Ends every tracked request; later ones are cut as they come. */
  cutAll(reason: Error): void {
    this.reason = reason;
    for (const resolve of this.#running) resolve(InFlight.cutResponse(reason));
    for (const cut of this.#streams) cut(reason);
    this.#running.clear();
    this.#streams.clear();
  }

  // The one cost on the hot path: a promise Deno waits on instead of the handler's, so that
  // the cut can settle it. Kept to that promise and the two callbacks it needs.
  #race(pending: Promise<Response>): Promise<Response> {
    const running = this.#running;
    return new Promise((resolve, reject) => {
      running.add(resolve);
      pending.then(
        (response) => {
          if (running.delete(resolve)) {
            // A body that cannot be read (already locked) must fail the request, not hang it.
            try {
              resolve(this.#track(response));
            } catch (error) {
              reject(error);
            }
          } else if (hasStreamBody(response)) {
            // Already cut: nobody reads this body, so let its producer stop.
            response.body?.cancel(this.reason).catch(() => {});
          }
        },
        (error: unknown) => {
          // After a cut the client is gone, and the error is most likely the cut's echo
          // (an aborted request signal): only a request still waiting gets it.
          if (running.delete(resolve)) reject(error);
        },
      );
    });
  }

  #track(response: Response): Response {
    if (this.draining) response = closingConnection(response);
    if (!hasStreamBody(response)) return response;
    const body = this.#cuttable(response.body!);
    return new Response(body, response);
  }

  /** `body`, read through a stream that fails when cut and cancels `body` then. */
  #cuttable(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const cuts = this.#streams;
    const reader = body.getReader();
    let cut: (reason: Error) => void;
    let ended = false;
    const end = () => {
      ended = true;
      cuts.delete(cut);
    };
    return new ReadableStream<Uint8Array>({
      start(controller) {
        cut = (reason) => {
          ended = true;
          controller.error(reason);
          reader.cancel(reason).catch(() => {});
        };
        cuts.add(cut);
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (ended) return;
          if (done) {
            end();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          if (ended) return;
          end();
          controller.error(error);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
}

// async: what Bun.serve / Deno.serve throw at once (a busy port) becomes a rejection.
// deno-lint-ignore require-await
async function listen(
  { handler, hostname, port, tls, reusePort }: ListenOptions,
): Promise<Listener> {
  const inFlight = new InFlight();
  const websockets = denoWebSocketHost();
  // Deno.serve throws at once (AddrInUse) when it cannot bind.
  const server = Deno.serve(
    {
      hostname,
      port,
      reusePort,
      ...tls,
      onListen: () => {},
      onError: (error) => {
        // Deno reports a body that failed here too: a cut one is no server error.
        if (error !== inFlight.reason) console.error(error);
        return new Response("Internal Server Error", { status: 500 });
      },
    },
    (request, info) => {
      // For `upgradeWebSocket`: the app sees `info` as `c.env`.
      attachWebSocketHost(info as object, websockets);
      if (inFlight.reason !== undefined) return InFlight.cutResponse(inFlight.reason);
      return inFlight.serve(handler(request, info));
    },
  );
  return closingWebSockets({
    hostname: server.addr.hostname,
    port: server.addr.port,
    async close(gracefulTimeout) {
      // Deno closes a keep-alive connection once its response is sent; saying so lets the
      // client know not to send its next request on it.
      inFlight.draining = true;
      const drained = server.shutdown();
      if (await settlesWithin(drained, gracefulTimeout)) return false;
      inFlight.cutAll(new Error(`Response cut: the ${gracefulTimeout} ms grace period is over`));
      // Every handler is answered and every stream fails now, so the connections end; but a
      // client that stopped reading a string or byte body holds its connection and nothing
      // can cut it. It must not hold the shutdown hooks too.
      if (await settlesWithin(drained, FORCE_CLOSE_TIMEOUT)) return true;
      console.warn(
        `Connections still open ${FORCE_CLOSE_TIMEOUT} ms after the grace period ` +
          "(a client that stopped reading?): shutting down anyway",
      );
      return true;
    },
  }, websockets.sockets);
}

/** How long the connections cut at the end of the grace period may take to close. */
const FORCE_CLOSE_TIMEOUT = 1000;

/** The Deno runtime. */
export const runtime: Runtime = {
  listen,
  onSignal(signal, listener) {
    try {
      Deno.addSignalListener(signal, listener);
    } catch {
      return () => {}; // SIGTERM does not exist on Windows
    }
    return () => Deno.removeSignalListener(signal, listener);
  },
  // Through `process.exit` where Deno has it (Deno 2 does): it runs the `exit` listeners of
  // Node-style code (loggers that flush, temp files) and then calls `Deno.exit`, which alone
  // would run only `unload` listeners.
  exit: (code) => nodeProcess()?.exit(code) ?? Deno.exit(code),
  setExitCode(code) {
    Deno.exitCode = code;
  },
  env: (name) => Deno.env.get(name),
  // Loaded only by a primary: a single process never needs it.
  startWorker: async (env) => (await import("./_deno_worker.ts")).startWorker(env),
};
