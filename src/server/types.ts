/**
 * The public shape of the server: the options of `serve()` and the `Server` it resolves to.
 *
 * @module
 */
import type { Logger } from "../core/log.ts";

/** Anything with a `fetch` method: an `App`, or a plain Hono app (served without hooks). */
export interface Fetchable {
  /** Answers one request. */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** Where a server listens, as given to `onListen`. */
export interface ListenInfo {
  /** The address bound, e.g. `127.0.0.1`; `""` on a unix socket. */
  readonly hostname: string;
  /** The port bound (the real one when `port: 0` asked for a free one); 0 on a unix socket. */
  readonly port: number;
  /**
   * `http://127.0.0.1:8000`, or `https://…` with `tls`, no trailing slash; on a unix socket
   * `unix:` and its path (`unix:/run/app.sock`), as Hypercorn prints it.
   */
  readonly url: string;
  /** The path of the unix socket served, when `unix` was given. */
  readonly unix?: string;
}

/** TLS certificate and key, PEM-encoded. */
export interface TlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** What the access log writes besides its defaults. */
export interface AccessLogOptions {
  /**
   * Log each request's query string with its path. Off by default: a query can carry
   * secrets (tokens, e-mail addresses).
   * @default {false}
   */
  query?: boolean;
}

/** Readiness endpoint answered by the server itself. */
export interface HealthOptions {
  /** The path answered: 503 while starting or stopping, 200 while serving. */
  path: string;
}

/** Options of `serve()` and `app.run()`. */
export interface ServeOptions {
  /**
   * Port to listen on; 0 picks a free one.
   * @default {Number(PORT env) || 8000}
   */
  port?: number;
  /**
   * Address to listen on.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Path of a unix domain socket to listen on instead of a TCP port (behind nginx, say);
   * not together with `port` or `hostname`. A socket file left by a process that died is
   * replaced; one that a live process listens on is an error. The file is removed after the
   * shutdown. With workers, Node's share the one socket; on Deno and Bun, where each worker
   * binds its own, it is a `TypeError`.
   */
  unix?: string;
  /** Aborting it starts a graceful shutdown, as `server.shutdown()` does. */
  signal?: AbortSignal;
  /**
   * Shut down gracefully on SIGINT and SIGTERM; a second signal exits at once (130 or 143).
   * With `workers`, the primary takes a signal repeated to it alone as a copy of the first (a
   * wrapper such as npm forwarding it), once: a second CTRL + C at a terminal reaches the
   * workers too, and they and the primary exit at once.
   * @default {true}
   */
  handleSignals?: boolean;
  /**
   * Milliseconds in-flight requests may take to finish once shutdown began; then their
   * connections are closed.
   * @default {3000}
   */
  gracefulTimeout?: number;
  /**
   * Milliseconds the startup phase may take.
   * @default {60000}
   */
  startupTimeout?: number;
  /**
   * Milliseconds each teardown step of the shutdown phase may take.
   * @default {60000}
   */
  shutdownTimeout?: number;
  /** Called once the socket is bound (with `workers`: in the primary, once all of them listen). */
  onListen?: (info: ListenInfo) => void;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsOptions;
  /**
   * Serve HTTP/2 (negotiated by ALPN) and HTTP/1.1 on the same port; needs `tls` (no cleartext
   * h2c). At shutdown each HTTP/2 session gets GOAWAY and its streams drain as requests do.
   * WebSockets stay HTTP/1.1. Deno offers HTTP/2 with any `tls`, whether this is set or not.
   * @default {false}
   */
  http2?: boolean;
  /**
   * Milliseconds an idle keep-alive connection stays open (Hypercorn's `keep_alive_timeout`);
   * `Infinity`: until its client closes it. Node: `server.keepAliveTimeout`, and with `http2`
   * also an HTTP/2 session with no stream open. Bun: its `idleTimeout`, in whole seconds
   * (rounded up, at most 255), which also ends a request whose handler sends nothing for that
   * long. Deno has none to set: an idle connection stays open until its client closes it.
   * @default {5000 on Node, 10 s on Bun}
   */
  keepAliveTimeout?: number;
  /** Answer readiness probes on `health.path`. */
  health?: HealthOptions;
  /**
   * Milliseconds to keep serving after a shutdown signal, with readiness already failing, so
   * a load balancer stops routing here before connections close.
   * @default {0}
   */
  shutdownDelay?: number;
  /**
   * Processes serving the app on one shared port, each running its own startup and shutdown
   * (`"auto"`: one per CPU). This process then runs no lifespan itself: it starts the workers,
   * asks them to stop on SIGINT and SIGTERM, restarts one that crashes (and gives up on one
   * restarted more than 5 times within 10 s of its run time: the others stop and `finished`
   * rejects), and settles `finished` once every worker has shut down. 1 serves in this process.
   * @default {1}
   */
  workers?: number | "auto";
  /**
   * A worker that has answered this many requests (plus a random part of
   * `maxRequestsJitter`) is replaced, as a reload replaces it: the new one starts and listens
   * before the old one drains, so no request fails. Contains a slow leak, as gunicorn's
   * `max_requests`. One worker at a time is replaced, taking turns with reloads; it is no
   * restart (no back-off, not counted towards giving up), and a stop cancels the replacements
   * still to come. Runs workers: with `workers` left at 1, one worker under a primary.
   */
  maxRequests?: number;
  /**
   * Each worker's limit is `maxRequests` plus a random whole number from 0 to this, so that
   * the workers are not all replaced at once.
   * @default {0}
   */
  maxRequestsJitter?: number;
  /**
   * One `info` line per request through the logger, once its response is sent, with
   * `{ method, path, status, durationMs, bytes, remote, protocol }`; `{ query: true }` adds the
   * query string to `path`. `remote` is null on a unix socket. Bun does not say which protocol
   * a request came by (`protocol` is null with `http2` there), and its `bytes` is null for a
   * response without a `content-type` header (Hono's `c.text()` with nothing else set). Off,
   * nothing of it is on the request path.
   * @default {false}
   */
  accessLog?: boolean | AccessLogOptions;
  /**
   * Where the server's lines go, for an app that is not an `App` (an `App` has its own
   * `logger` option, which this overrides: while served, the app's own lines go here too). Given
   * a logger, `serve()` logs that it started and stopped at `info`; on the default console it
   * keeps those lines at `debug`, as quiet as before.
   * @default {the app's logger, else console}
   */
  logger?: Logger;
}

/** A running server, as `serve()` resolves it once the socket is bound. */
export interface Server extends ListenInfo {
  /** Settles when the server has fully stopped: drained, shut down, listeners removed. */
  readonly finished: Promise<void>;
  /** Starts a graceful shutdown (once) and resolves when it is finished. */
  shutdown(): Promise<void>;
  /**
   * Replaces the workers one at a time, without dropping a request, as SIGHUP to the primary
   * does: a new process for each place (it loads the code as it is on disk now, so a deployed
   * update takes effect) runs its startup and binds the port, and only then does the worker it
   * replaces drain and shut down (its shutdown runs once). Resolves once every worker has been
   * replaced; the server keeps serving throughout, and `finished` does not settle.
   *
   * Rejects, having logged why, if a new worker fails its startup (the reload stops there and
   * the workers not yet replaced keep serving: a bad deploy does not take the service down), or
   * if the server stops meanwhile (the stop wins). A reload asked for while one runs is queued:
   * one more follows it, so that every worker then runs the code on disk at the time of the
   * last request; the promises of all requests made meanwhile settle with that one.
   *
   * Only a primary (`workers` of 2 or more, or `maxRequests` set) can reload: elsewhere (one
   * process, or a worker)
   * it rejects with an `Error`, and SIGHUP keeps the runtime's default.
   *
   * @example Reload after a deploy
   * ```ts
   * import { App, serve } from "@lifespan/hono";
   *
   * const app = new App();
   * const server = await serve(app, { port: 0, workers: 2 });
   * try {
   *   await server.reload(); // every worker now runs the code as it is on disk
   * } catch (error) {
   *   console.error(error); // e.g. a new worker failed its startup: the old ones still serve
   * }
   * await server.shutdown();
   * ```
   */
  reload(): Promise<void>;
  /** Shuts down at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void>;
}
