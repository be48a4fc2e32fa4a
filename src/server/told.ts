/**
 * A server's stop, told: why it begins and what is open then, what the grace period cut, and
 * how long the drain and the teardown took. Logged (`info`, the cuts at `warn`) and published
 * on the `server` diagnostics channel.
 *
 * @module
 */
import { countOpen, drain, type Drainable, type DrainReport, plural } from "../core/drain.ts";
import { publishServer, roundMs } from "../core/events.ts";
import type { Logger } from "../core/log.ts";

/**
 * The level of the lines that say a server started and stopped: `info`, or `debug` where the
 * default console would print them in the middle of a program's own output (`serve()` with no
 * logger given). The cuts are warnings whatever it is.
 */
export type LifecycleLevel = "info" | "debug";

/** A server's stop as it goes: begun by `tellStopping`, ended by `tellStopped`. */
export interface Stopping {
  readonly app: object | undefined;
  readonly reason: string;
  readonly log: Logger;
  readonly level: LifecycleLevel;
  /** When the stop began, by `performance.now()`. */
  readonly startedAt: number;
}

/** `server.shutdown()`, or `SIGTERM`: what asked for a stop, as the lines say it. */
export function tellStopping(
  app: object | undefined,
  reason: string,
  parts: readonly Drainable[],
  log: Logger,
  level: LifecycleLevel,
): Stopping {
  const startedAt = performance.now();
  const open = countOpen(parts);
  const counts = [
    plural(open.requests, "request"),
    ...(open.connections === undefined ? [] : [plural(open.connections, "connection")]),
    plural(open.websockets, "WebSocket"),
  ];
  log[level](`Shutting down (${reason}): ${counts.join(", ")} open`, { reason, ...open });
  publishServer(() => ({ type: "stopping", app, reason, ...open }));
  return { app, reason, log, level, startedAt };
}

/** Drains `parts` (see `core/drain.ts`), publishing what the grace period cut. */
export async function drainTold(
  stopping: Stopping,
  parts: readonly Drainable[],
  gracefulTimeout: number,
): Promise<DrainReport & { readonly drainMs: number }> {
  const started = performance.now();
  const report = await drain(
    parts,
    gracefulTimeout,
    stopping.log,
    {
      onCut: (cut) =>
        publishServer(() => ({
          type: "cut",
          app: stopping.app,
          ...cut,
          gracefulTimeoutMs: gracefulTimeout,
        })),
    },
  );
  return { ...report, drainMs: roundMs(performance.now() - started) };
}

/** `Stopped in 3120 ms (drain 3010 ms, teardown 110 ms)`. */
export function tellStopped(
  stopping: Stopping,
  { drainMs, teardownMs, cut, failed }: {
    drainMs: number;
    teardownMs: number;
    cut: boolean;
    failed: boolean;
  },
): void {
  const { app, reason, log, level } = stopping;
  const durationMs = roundMs(performance.now() - stopping.startedAt);
  log[level](
    `Stopped in ${Math.round(durationMs)} ms (drain ${Math.round(drainMs)} ms, teardown ${
      Math.round(teardownMs)
    } ms)`,
    { reason, durationMs, drainMs, teardownMs },
  );
  publishServer(() => ({
    type: "stopped",
    app,
    reason,
    durationMs,
    drainMs,
    teardownMs,
    cut,
    failed,
  }));
}
