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
import type { Lifespan } from "../core/lifespan.ts";
import { messageOf } from "../core/log.ts";
import { StartupError } from "../core/errors.ts";
import { bunWebSocketHandler } from "../runtimes/bun/websocket.ts";
import type { Handler, Runtime } from "../runtimes/types.ts";
import { detectRuntime, isBun, servesEntries } from "./runtime.ts";
import type { Fetchable } from "./types.ts";

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

/**
 * Takes over `app`, served by the runtime by itself; `handler` is its own, ungated. The
 * lifecycle of a taken-over app (take_over.ts) is loaded only here: `serve()` never needs it.
 */
export function takeOver(lifespan: Lifespan, handler: Handler): TakenOver {
  const log = lifespan.log;
  let serve: Handler | undefined;
  const ready = import("./take_over.ts")
    .then(({ startTakenOver }) => startTakenOver(lifespan, handler))
    .then((handler) => serve = handler);
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
