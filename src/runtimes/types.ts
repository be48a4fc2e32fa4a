/**
 * The contract every runtime implements: the few things that differ between Deno, Bun and
 * Node. The server (`src/server/`) is written once over it.
 *
 * @module
 */
import type { Drainable } from "../core/drain.ts";
import type { Logger } from "../core/log.ts";

/** A request handler, with the runtime's own extra arguments passed through. */
export type Handler = (request: Request, env?: unknown) => Response | Promise<Response>;

/** What a runtime needs to bind: the handler and where. */
export interface ListenOptions {
  readonly handler: Handler;
  /** The TCP address, unless `unix` is given. */
  readonly hostname: string;
  /** The TCP port, unless `unix` is given. */
  readonly port: number;
  /**
   * The path of a unix socket to bind instead of a TCP address; the server layer has made sure
   * nothing is at the path (a stale socket file is removed, a live one is an error).
   */
  readonly unix?: string;
  /** Certificate and key, PEM, to serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Serve HTTP/2 by ALPN beside HTTP/1.1 (given with `tls` only). */
  readonly http2?: boolean;
  /** Milliseconds an idle keep-alive connection stays open, where the runtime can set it. */
  readonly keepAliveTimeout?: number;
  /** Let other processes bind the same port (workers on Deno and Bun; node:cluster needs none). */
  readonly reusePort?: boolean;
  /** Where the server's own lines go (a handler's error, a server error). */
  readonly log: Logger;
  /**
   * Called once for each request, after its response was sent in full, or given up on (its
   * client went away, or the drain cut it): the access log's one need of a runtime, which
   * alone knows when that is. When undefined, nothing is installed on the request path for it.
   */
  readonly onSent?: (sent: SentResponse) => void;
}

/** A response a runtime has sent, as `ListenOptions.onSent` is told of it. */
export interface SentResponse {
  readonly method: string;
  /** The request's URL as the runtime has it: absolute (Deno, Bun) or its path (Node). */
  readonly url: string;
  readonly status: number;
  /** The body bytes sent; null where the runtime cannot tell (see each runtime's listen). */
  readonly bytes: number | null;
  /** When the runtime called the handler, by `performance.now()`. */
  readonly startedAt: number;
  /** The client's address; null on a unix socket. */
  readonly remote: string | null;
  /** `HTTP/1.1` or `HTTP/2`; null where the runtime does not tell. */
  readonly protocol: string | null;
}

/**
 * A bound socket, as a runtime's `listen` returns it. Its drain (see `core/drain.ts`) stops
 * accepting, closes idle connections, asks the clients of responses sent from then on to close
 * their connection, and resolves once no connection is left; its cut ends the requests still
 * running. `websockets` drain alongside.
 */
export interface Listener extends Drainable {
  /** The address bound; `""` on a unix socket. */
  readonly hostname: string;
  /** The port bound; 0 on a unix socket. */
  readonly port: number;
  /** The WebSockets opened through this listener: drained with it. */
  readonly websockets: Drainable;
}

/**
 * What a runtime that serves an app by itself (Bun's default export, `deno serve`) offers the
 * library to take that app over: its requests tracked for the drain, its WebSockets hosted.
 */
export interface Entry {
  /** The app's handler, for the requests the runtime's own server gives it. */
  handler(handler: Handler): Handler;
  /**
   * The requests in flight: drained at shutdown. With `keepServer` (a hot reload hands the
   * runtime's server to the app's next version) the server itself keeps accepting.
   */
  requests(keepServer: boolean): Drainable;
  /** The WebSockets opened through `handler`. */
  readonly websockets: Drainable;
  /** Once stopped on a signal: ends the process if the runtime's server would keep it alive. */
  stopped(exitCode: number): void;
}

/** The few things that differ between Deno, Bun and Node. */
export interface Runtime {
  /** Binds the socket; rejects (e.g. port in use) with nothing left open. */
  listen(options: ListenOptions): Promise<Listener>;
  /** Adds a listener for a process signal; returns its remover (a no-op where it has none). */
  onSignal(signal: "SIGINT" | "SIGTERM" | "SIGHUP", listener: () => void): () => void;
  /** Ends the process now with `code`. */
  exit(code: number): never;
  /** Sets the code the process exits with when its loop empties. */
  setExitCode(code: number): void;
  /** An environment variable, or undefined. */
  env(name: string): string | undefined;
  /** Sends `signal` to the process `pid` (`process.kill`, which Deno reports faithfully). */
  kill(pid: number, signal: "SIGKILL" | "SIGTERM" | "SIGINT"): void;
  /**
   * Whether the workers' listens share one socket that the primary holds (`node:cluster`'s
   * handle): workers that each listen on port 0 get one port, and workers can serve one unix
   * socket. If not, the first worker binds a free port with `reusePort` and the others bind
   * that one, and a unix socket (which has no `reusePort`) cannot be served by workers.
   */
  readonly workersShareSocket: boolean;
  /**
   * The module whose default export the runtime serves by itself (`bun run`, `deno serve`),
   * if it does that.
   */
  readonly main?: string;
  /**
   * Takes over an app the runtime serves by itself (see `server/entry.ts`); loaded only then,
   * as `serve()` never needs it.
   */
  entry?(): Promise<Entry>;
  /**
   * A hot reload (`bun --hot`) evaluates the modules anew in this same process: a new server
   * on the port of one still running is the next version of it.
   */
  readonly hot?: boolean;
  /**
   * Ends the process once its loop is empty, where a watcher would keep it alive after the app
   * stopped (`bun --hot`, `bun --watch`); elsewhere the process ends by itself.
   */
  exitWhenDone?(code: number): void;
  /**
   * Starts this program again as a worker (see `server/primary.ts`): the same entry module,
   * arguments and permissions (never more), `env` added to this process's environment, stdout
   * and stderr shared, and an IPC channel for `process.send`.
   */
  startWorker(env: Record<string, string>): Promise<WorkerProcess>;
}

/** A worker process as its primary sees it: the part of Node's `ChildProcess` used. */
export interface WorkerProcess {
  /** The worker's process id. */
  readonly pid?: number | undefined;
  /** A message the worker sent with `process.send`. */
  on(event: "message", listener: (message: unknown) => void): unknown;
  /** The worker has exited and its IPC channel is closed. */
  on(event: "close", listener: (code: number | null, signal: string | null) => void): unknown;
  /**
   * Sends a message to the worker's `process.on("message")`. Once the channel has closed (the
   * worker exited, although its `close` event has not come yet), or when the write fails,
   * `callback` gets the error, later; it never throws. Without a callback, Node, Deno and Bun
   * emit that error as an `error` event on the child instead.
   */
  send(message: unknown, callback: (error: Error | null) => void): unknown;
}
