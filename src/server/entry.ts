/**
 * An app the runtime serves by itself: `export default app` under `bun run` or `deno serve`
 * (also `export default { fetch: app.fetch }`, or `Bun.serve({ fetch: app.fetch })`). The
 * runtime binds and calls `app.fetch`; the library takes the app over:
 *
 * - startup has finished before the first request is answered: it begins as soon as the app
 *   is found to be the main module's default export (right after that module has evaluated),
 *   or at its first request, and requests wait for it. An app started by the module itself
 *   (top-level `await app.startup()`) is taken over as it is.
 * - SIGINT and SIGTERM drain its requests and WebSockets within `gracefulTimeout` and run its
 *   shutdown, once; a startup failure ends the process with code 1, as `run()` does.
 * - under `bun --hot`, the next version of the module retires this one first.
 *
 * @module
 */
import { publishServer } from "../core/events.ts";
import type { Lifespan } from "../core/lifespan.ts";
import { messageOf } from "../core/log.ts";
import { StartupError } from "../core/errors.ts";
import { bunWebSocketHandler } from "../runtimes/bun/websocket.ts";
import type { Handler, Runtime } from "../runtimes/types.ts";
import { register, retirePrevious } from "./hot.ts";
import { RELOAD, type Service, startLifecycle, startupInterrupted } from "./lifecycle.ts";
import { detectRuntime, isBun, servesEntries } from "./runtime.ts";
import { resolveOptions } from "./settings.ts";
import { drainTold, tellStopped, tellStopping } from "./told.ts";
import type { Fetchable } from "./types.ts";

/** Where a taken-over app is registered for the next version of the modules. */
const PLACE = "the default export";

/**
 * Whether `env`, `fetch`'s second argument, comes from a server the runtime runs by itself:
 * Bun's `Server`, or the connection info of `Deno.serve`. (This library's own servers call the
 * app's handler directly, never `app.fetch`.)
 */
export function servedByRuntime(env: unknown): boolean {
  if (typeof env !== "object" || env === null) return false;
  const candidate = env as Record<string, unknown>;
  return (typeof candidate.upgrade === "function" && typeof candidate.requestIP === "function") ||
    ("remoteAddr" in candidate && "completed" in candidate);
}

/**
 * What Bun reads from a default export besides `fetch`, for an app to carry: no development
 * mode (whose error page shows stack traces), and the socket events of `upgradeWebSocket`.
 */
export function entryFields(): Record<string, unknown> {
  return isBun() ? { development: false, websocket: bunWebSocketHandler } : {};
}

/** An app taken over: where its requests go. */
export interface TakenOver {
  /** Answers a request of the runtime's server once startup has finished. */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/**
 * Calls `takeOver` if `app` turns out to be the default export of the main module of a runtime
 * that serves it by itself (or an object whose `fetch` is the app's). Checked once that module
 * has evaluated (its top-level `await` included), before the runtime gives it a request.
 */
export function watchEntry(app: Fetchable, takeOver: () => void): void {
  if (!servesEntries()) return;
  void detectRuntime().then(async (runtime) => {
    if (runtime.main === undefined) return;
    // The module being evaluated: the same namespace, without evaluating it again.
    const main: { default?: unknown } = await import(runtime.main);
    const exported = main.default;
    if (
      exported === app ||
      (typeof exported === "object" && exported !== null &&
        (exported as Partial<Fetchable>).fetch === app.fetch)
    ) {
      takeOver();
    }
  }).catch(() => {
    // Not importable (a main module that is not a module): nothing the runtime serves either.
  });
}

/** Takes over `app`, served by the runtime by itself; `handler` is its own, ungated. */
export function takeOver(lifespan: Lifespan, handler: Handler): TakenOver {
  const log = lifespan.log;
  let serve: Handler | undefined;
  const ready = (async (): Promise<Handler> => {
    const runtime = await detectRuntime();
    const entry = runtime.entry?.();
    if (entry === undefined) throw new Error("This runtime does not serve apps by itself");
    const settings = resolveOptions((name) => runtime.env(name), {});
    // The previous version of this module, under `bun --hot`, stops before this one starts.
    await retirePrevious(PLACE);
    const service: Service = {
      async start(interrupted) {
        if (lifespan.phase === "idle") await lifespan.startup(settings.startupTimeout, "info");
        if (interrupted.aborted) {
          await lifespan.shutdown(settings.shutdownTimeout);
          throw startupInterrupted(interrupted);
        }
        publishServer(() => ({ type: "listening", app: lifespan.owner, url: "" }));
        // Where it listens is the runtime's to say (and print): nobody reads this.
        return { hostname: "", port: 0, url: "" };
      },
      async stop(reason) {
        lifespan.beginShutdown();
        const parts = [entry.requests(reason === RELOAD), entry.websockets];
        // The runtime serves the app at a terminal, as run() does: its lines are told.
        const stopping = tellStopping(lifespan.owner, reason, parts, log, "info");
        const drained = await drainTold(stopping, parts, settings.gracefulTimeout);
        const { leftRunning, error, durationMs } = await lifespan.shutdown(
          settings.shutdownTimeout,
        );
        tellStopped(stopping, {
          drainMs: drained.drainMs,
          teardownMs: durationMs,
          cut: drained.cut,
          failed: error !== undefined,
        });
        const left = drained.cut || leftRunning;
        return error === undefined ? { leftRunning: left } : { leftRunning: left, error };
      },
    };
    const running = await startLifecycle(service, {
      runtime,
      log,
      handleSignals: true,
      signalEchoes: true,
    });
    register(PLACE, running);
    void running.stopped.then((report) => {
      if (report.reason !== RELOAD) entry.stopped("error" in report ? 1 : 0);
    });
    return serve = entry.handler(handler);
  })();
  ready.catch(async (error: unknown) => {
    const hook = error instanceof StartupError ? ` (${error.hook})` : "";
    log.error(`${messageOf(error)}${hook}`, { err: error });
    const runtime: Runtime = await detectRuntime();
    runtime.exit(1);
  });
  return {
    fetch: (request, env) =>
      serve !== undefined ? serve(request, env) : ready.then((serve) => serve(request, env)),
  };
}
