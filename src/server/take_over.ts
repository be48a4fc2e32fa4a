/**
 * The lifecycle of an app the runtime serves by itself (see `entry.ts`), loaded once the app
 * is found to be taken over: its startup before the first answer, its drain and shutdown on
 * SIGINT and SIGTERM, and the retiring of the previous version under `bun --hot`.
 *
 * @module
 */
import { publishServer } from "../core/events.ts";
import type { Lifespan } from "../core/lifespan.ts";
import type { Handler } from "../runtimes/types.ts";
import { register, retirePrevious } from "./hot.ts";
import { RELOAD, type Service, startLifecycle, startupInterrupted } from "./lifecycle.ts";
import { detectRuntime } from "./runtime.ts";
import { resolveOptions } from "./settings.ts";
import { drainTold, tellStopped, tellStopping } from "./told.ts";

/** Where a taken-over app is registered for the next version of the modules. */
const PLACE = "the default export";

/**
 * Starts the lifecycle of `lifespan`'s app, served by the runtime by itself; resolves to the
 * handler for the runtime's requests once startup has finished.
 */
export async function startTakenOver(lifespan: Lifespan, handler: Handler): Promise<Handler> {
  const log = lifespan.log;
  const runtime = await detectRuntime();
  const entry = await runtime.entry?.();
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
  return entry.handler(handler);
}
