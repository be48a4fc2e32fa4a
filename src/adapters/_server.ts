/**
 * The loop every adapter runs, over the few runtime calls in `Runtime`:
 * startup → bind → wait → readiness fails → stop accepting → drain → shutdown → remove signal
 * listeners → settle `finished`.
 *
 * @module
 */
import { App, beginShutdown, leftWorkRunning } from "../app.ts";
import { LifespanError, messageOf, StartupError } from "../errors.ts";
import { checkDuration, checkFunction, checkKnownOptions, describeValue } from "../options.ts";
import { delay } from "../timers.ts";
import type { Fetchable, Handler, Listener, Runtime, ServeOptions, Server } from "./types.ts";
import type { PrimaryLink } from "./_workers.ts";

const SERVE_OPTIONS = [
  "port",
  "hostname",
  "signal",
  "handleSignals",
  "gracefulTimeout",
  "startupTimeout",
  "shutdownTimeout",
  "onListen",
  "tls",
  "health",
  "shutdownDelay",
  "workers",
];

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Signals within this many ms of the first are the same request, not a second one. */
const SIGNAL_ECHO_MS = 200;

type Settings =
  & Required<
    Pick<
      ServeOptions,
      | "port"
      | "hostname"
      | "handleSignals"
      | "gracefulTimeout"
      | "startupTimeout"
      | "shutdownTimeout"
      | "shutdownDelay"
      | "workers"
    >
  >
  & ServeOptions;

/** Checks `options` and fills in the defaults; bad values are a `TypeError` naming them. */
export function resolveOptions(runtime: Runtime, options: ServeOptions): Settings {
  checkKnownOptions("serve()", options, SERVE_OPTIONS);
  const port = options.port ?? portFromEnv(runtime);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(`hostname must be a non-empty string, got ${describeValue(hostname)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describeValue(options.signal)}`);
  }
  const handleSignals = options.handleSignals ?? true;
  if (typeof handleSignals !== "boolean") {
    throw new TypeError(`handleSignals must be a boolean, got ${describeValue(handleSignals)}`);
  }
  if (options.onListen !== undefined) checkFunction("onListen", options.onListen);
  const { tls, health } = options;
  if (
    tls !== undefined &&
    (typeof tls !== "object" || tls === null || typeof tls.cert !== "string" ||
      typeof tls.key !== "string")
  ) {
    throw new TypeError(
      `tls must be an object with cert and key strings, got ${describeValue(tls)}`,
    );
  }
  if (
    health !== undefined &&
    (typeof health !== "object" || health === null || typeof health.path !== "string" ||
      !health.path.startsWith("/"))
  ) {
    throw new TypeError(
      `health must be an object with a path starting with "/", got ${describeValue(health)}`,
    );
  }
  const workers = options.workers ?? 1;
  if (workers !== "auto" && !(Number.isInteger(workers) && workers >= 1)) {
    throw new TypeError(
      `workers must be a positive integer or "auto", got ${describeValue(workers)}`,
    );
  }
  return {
    ...options,
    workers,
    port,
    hostname,
    handleSignals,
    gracefulTimeout: checkDuration("gracefulTimeout", options.gracefulTimeout ?? 3000),
    startupTimeout: checkDuration("startupTimeout", options.startupTimeout ?? 60000),
    shutdownTimeout: checkDuration("shutdownTimeout", options.shutdownTimeout ?? 60000),
    shutdownDelay: checkDuration("shutdownDelay", options.shutdownDelay ?? 0),
  };
}

function portFromEnv(runtime: Runtime): number {
  const value = runtime.env("PORT");
  if (value === undefined || value === "") return 8000;
  const port = Number(value);
  if (!Number.isInteger(port)) {
    throw new TypeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

/** `http://host:port` (or https), with brackets around an IPv6 address; no trailing slash. */
export function formatUrl(hostname: string, port: number, secure: boolean): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}`;
}

/**
 * Listens for SIGINT and SIGTERM: the first calls `onStop`; another one more than
 * `SIGNAL_ECHO_MS` later calls `beforeExit` and exits at once (130 or 143). Returns the removers.
 */
export function listenForSignals(
  runtime: Runtime,
  handlers: {
    onStop: (signal: "SIGINT" | "SIGTERM") => void;
    beforeExit?: (signal: "SIGINT" | "SIGTERM") => void;
  },
): (() => void)[] {
  let firstSignalAt: number | undefined;
  return (["SIGINT", "SIGTERM"] as const).map((signal) =>
    runtime.onSignal(signal, () => {
      const now = Date.now();
      if (firstSignalAt === undefined) {
        firstSignalAt = now;
        handlers.onStop(signal);
      } else if (now - firstSignalAt > SIGNAL_ECHO_MS) {
        console.error(`Received ${signal} while stopping: exiting now`);
        handlers.beforeExit?.(signal);
        runtime.exit(EXIT_CODES[signal]);
      }
      // Else an echo of the first: CTRL + C reaches the whole process group, and wrappers
      // (npm, tsx, a worker's primary) forward the same signal again.
    })
  );
}

/** Answers the readiness path before the app sees the request. */
function withHealth(handler: Handler, path: string, isServing: () => boolean): Handler {
  return (request, env) => {
    const { pathname } = new URL(request.url);
    if (pathname !== path) return handler(request, env);
    const serving = isServing();
    return new Response(serving ? "OK" : "Service Unavailable", {
      status: serving ? 200 : 503,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  };
}

/** Serves `app` on `runtime`: the one implementation of `serve()` behind every adapter. */
export async function serveWith(
  runtime: Runtime,
  app: Fetchable,
  options: ServeOptions = {},
): Promise<Server> {
  if (typeof app?.fetch !== "function") {
    throw new TypeError(`serve() expects an app with a fetch method, got ${describeValue(app)}`);
  }
  const settings = resolveOptions(runtime, options);
  const lifespan = app instanceof App ? app : undefined;
  const secure = settings.tls !== undefined;

  // With workers, the same script runs in their primary (which runs no lifespan) and in each
  // worker, which serves as a single process would and reports to the primary.
  let primary: PrimaryLink | undefined;
  if (settings.workers !== 1) {
    const workers = await import("./_workers.ts");
    primary = workers.joinPrimary(runtime.env(workers.WORKER_ENV));
    const count = primary === undefined ? await workers.workerCount(settings.workers) : 1;
    if (count > 1) {
      return await workers.servePrimary(runtime, { ...settings, count, secure });
    }
  }

  // What asked the server to stop before it could (during startup), and what stops it after.
  let stopRequest: string | undefined;
  const running: { stop?: () => void } = {};
  const requestStop = (reason: string) => {
    stopRequest ??= reason;
    running.stop?.();
  };

  const removers: (() => void)[] = [];
  const removeListeners = () => removers.splice(0).forEach((remove) => remove());
  // Installed before startup, so that a signal during startup is not the default instant death.
  // A worker always does: its primary asks it to stop with a signal. And it keeps them to the
  // end: a copy of the signal (CTRL + C reaches the process group, then the primary forwards
  // it) may come after its shutdown and would kill it. They do not keep a process alive.
  if (settings.handleSignals || primary !== undefined) {
    const removeSignalListeners = listenForSignals(runtime, { onStop: requestStop });
    if (primary === undefined) removers.push(...removeSignalListeners);
  }
  if (primary !== undefined) {
    const link = primary;
    link.onPrimaryGone(() => requestStop("the primary exiting"));
    removers.push(() => link.close());
  }
  const { signal } = settings;
  if (signal !== undefined) {
    const onAbort = () => requestStop("the signal option");
    signal.addEventListener("abort", onAbort, { once: true });
    removers.push(() => signal.removeEventListener("abort", onAbort));
  }

  const shutdownLifespan = async () => {
    if (lifespan === undefined) return;
    beginShutdown(lifespan);
    await lifespan.shutdown({ timeout: settings.shutdownTimeout });
  };
  /** Runs `fn`; whatever it throws, the listeners go, and after `undo` the error is thrown. */
  const failWith = async (error: unknown, undo?: () => Promise<void>): Promise<never> => {
    try {
      await undo?.();
    } finally {
      await primary?.failed(error);
      removeListeners();
    }
    throw error;
  };

  try {
    await lifespan?.startup({ timeout: settings.startupTimeout });
  } catch (error) {
    return await failWith(error);
  }
  if (stopRequest !== undefined || signal?.aborted) {
    return await failWith(
      new LifespanError(
        `Startup interrupted by ${stopRequest ?? "the signal option"}: shut down without serving`,
      ),
      shutdownLifespan,
    );
  }

  let serving = false;
  const handler: Handler = (request, env) => app.fetch(request, env);
  let listener: Listener;
  try {
    listener = await runtime.listen({
      handler: settings.health ? withHealth(handler, settings.health.path, () => serving) : handler,
      hostname: settings.hostname,
      port: primary?.port ?? settings.port,
      tls: settings.tls,
      reusePort: primary !== undefined,
    });
  } catch (error) {
    const url = formatUrl(settings.hostname, primary?.port ?? settings.port, secure);
    return await failWith(
      new Error(`Cannot listen on ${url}: ${messageOf(error)}`, { cause: error }),
      shutdownLifespan,
    );
  }
  serving = true;
  primary?.listening();

  let stopped: Promise<void> | undefined;
  let settle!: (outcome: Promise<void>) => void;
  const finished = new Promise<void>((resolve) => settle = resolve);
  finished.catch(() => {}); // may go unobserved: the failure reaches whoever stopped the server
  const stop = (): Promise<void> => {
    stopRequest ??= "shutdown()";
    stopped ??= (async () => {
      serving = false;
      if (lifespan !== undefined) beginShutdown(lifespan);
      let succeeded = false;
      try {
        if (settings.shutdownDelay > 0) await delay(settings.shutdownDelay);
        // Connections closed on requests still running leave their handlers behind, maybe
        // holding timers or sockets of the app's, which `run()` must not wait for.
        if (await listener.close(settings.gracefulTimeout)) leftRunning.add(server);
        await shutdownLifespan();
        succeeded = true;
      } finally {
        // So do teardown steps and background tasks abandoned past their timeouts.
        if (lifespan !== undefined && leftWorkRunning(lifespan)) leftRunning.add(server);
        await primary?.stopped(succeeded);
        removeListeners();
      }
    })();
    settle(stopped);
    return stopped;
  };
  // A stop that a signal started has no caller to report a failure to: log it, exit non-zero.
  // `server.shutdown()` rejects for its caller instead.
  running.stop = () => {
    stop().catch((error) => {
      console.error(messageOf(error));
      runtime.setExitCode(1);
    });
  };

  const info = {
    hostname: listener.hostname,
    port: listener.port,
    url: formatUrl(listener.hostname, listener.port, secure),
  };
  try {
    // In a worker, the primary calls it once they all listen.
    if (primary === undefined) settings.onListen?.(info);
  } catch (error) {
    console.error("onListen threw:", error);
  }
  if (stopRequest !== undefined) running.stop();

  const server: Server = {
    ...info,
    finished,
    shutdown: stop,
    [Symbol.asyncDispose]: stop,
  };
  return server;
}

/** Stopped servers that left work running: cut requests, abandoned teardown steps or tasks. */
const leftRunning = new WeakSet<Server>();

/** The exit code for a failed start: a worker's own (set by `_workers.ts`), else 1. */
function exitCodeOf(error: unknown): number {
  const code = typeof error === "object" && error !== null && "exitCode" in error
    ? error.exitCode
    : undefined;
  return typeof code === "number" ? code : 1;
}

/** `serve()` for a person at a terminal: the implementation of `app.run()`. */
export async function runWith(
  runtime: Runtime,
  app: Fetchable,
  options: ServeOptions = {},
): Promise<void> {
  // Checked before `onListen` is wrapped and the rest spread into serve()'s options: `null` or
  // a number would spread to nothing and serve on the defaults, and a bad `onListen` would
  // only fail inside the wrapper, once already serving.
  checkKnownOptions("run()", options, SERVE_OPTIONS);
  if (options.onListen !== undefined) checkFunction("onListen", options.onListen);
  const { onListen } = options;
  let server: Server;
  try {
    server = await serveWith(runtime, app, {
      ...options,
      onListen: (info) => {
        console.log(`Running on ${info.url} (CTRL + C to quit)`);
        onListen?.(info);
      },
    });
  } catch (error) {
    if (error instanceof TypeError) throw error;
    const hook = error instanceof StartupError ? ` (${error.hook})` : "";
    console.error(`${messageOf(error)}${hook}`);
    if (error instanceof Error && error.cause !== undefined) console.error(error.cause);
    runtime.exit(exitCodeOf(error));
  }
  let failed = false;
  try {
    await server.finished;
  } catch {
    failed = true; // reported by serveWith, which set the exit code
  }
  // A clean stop lets the event loop empty by itself (beforeExit handlers and flushes run).
  // After requests were cut at the end of the grace period, or teardown steps or background
  // tasks were abandoned past their timeouts, what was left running may keep it busy for as
  // long as it likes: a person at a terminal wants the process to end.
  if (leftRunning.has(server)) runtime.exit(failed ? 1 : 0);
}
