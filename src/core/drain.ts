/**
 * The drain: the one sequence that ends the work in flight at shutdown, whatever holds it (a
 * server's connections, its WebSockets, a test client's sockets). Each part says how to stop
 * taking work, how to cut what is left, and how to let go of what even a cut could not end;
 * the sequence and its deadlines are here:
 *
 * grace period (let the work finish) → cut → at most `CUT_TIMEOUT` more → let go, with a warning.
 *
 * So a drain ends within `gracefulTimeout` + `CUT_TIMEOUT` whatever the peers do.
 *
 * @module
 */
import { type Logger, messageOf } from "./log.ts";
import { settlesWithin } from "./timers.ts";

/** How long what was cut at the end of the grace period may take to close. */
export const CUT_TIMEOUT = 1000;

/** Work in flight that a shutdown drains. */
export interface Drainable {
  /** Stops taking new work and lets the work in flight finish; resolves once none is left. */
  drain(): Promise<void>;
  /** Ends what is still running once the grace period is over. */
  cut(reason: Error): void;
  /** Stops waiting for what the cut did not end: none of it may keep the process alive. */
  abandon?(): void;
  /** What is still open, for the warning when it is abandoned, e.g. `2 WebSocket(s)`. */
  describe(): string;
}

/** How a drain ended. */
export interface DrainReport {
  /** Work was still running at the end of the grace period and was cut. */
  readonly cut: boolean;
  /** Even the cut did not end everything within `CUT_TIMEOUT`: the rest was let go. */
  readonly abandoned: boolean;
}

/**
 * Drains `parts` together, within `gracefulTimeout` ms plus `cutTimeout` at most. Never rejects:
 * a part that fails to drain, cut or let go is logged, and the sequence goes on for the others.
 */
export async function drain(
  parts: readonly Drainable[],
  gracefulTimeout: number,
  log: Logger,
  cutTimeout: number = CUT_TIMEOUT,
): Promise<DrainReport> {
  const open = new Set(parts);
  const drained = Promise.all(parts.map(async (part) => {
    try {
      await part.drain();
    } catch (error) {
      // Whatever failed, nothing is left to wait for there.
      log.error(`Error while draining: ${messageOf(error)}`, { err: error });
    } finally {
      open.delete(part);
    }
  }));
  if (await settlesWithin(drained, gracefulTimeout)) return { cut: false, abandoned: false };
  const reason = new Error(`Response cut: the ${gracefulTimeout} ms grace period is over`);
  // One part that throws must not keep the others from being cut, nor the drain from ending:
  // the shutdown hooks run after it.
  for (const part of open) attempt(() => part.cut(reason), "cutting", part, log);
  if (await settlesWithin(drained, cutTimeout)) return { cut: true, abandoned: false };
  const remaining = [...open].map((part) => part.describe());
  for (const part of open) attempt(() => part.abandon?.(), "letting go of", part, log);
  log.warn(
    `Still open ${cutTimeout} ms after the ${gracefulTimeout} ms grace period: ${
      remaining.join(", ")
    }; shutting down anyway`,
    { open: remaining, gracefulTimeoutMs: gracefulTimeout },
  );
  return { cut: true, abandoned: true };
}

function attempt(step: () => void, doing: string, part: Drainable, log: Logger): void {
  try {
    step();
  } catch (error) {
    log.error(`Error while ${doing} ${part.describe()}: ${messageOf(error)}`, { err: error });
  }
}
