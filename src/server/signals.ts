/**
 * SIGINT and SIGTERM: the first asks for a graceful stop, a second one ends the process at once.
 *
 * @module
 */
import type { Logger } from "../core/log.ts";
import type { Runtime } from "../runtimes/types.ts";

/** The exit code of a process ended by a second signal, as the signal's default would. */
export const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Signals within this many ms of the first are the same request, not a second one. */
export const SIGNAL_ECHO_MS = 200;

/** The signals a server stops on. */
export type StopSignal = keyof typeof EXIT_CODES;

/** What `listenForSignals` calls. */
export interface SignalHandlers {
  /** The first signal: stop gracefully. */
  onStop(signal: StopSignal): void;
  /**
   * A later one, past the echo window: whether the process exits now (without it, it does).
   * A primary of workers cannot tell a user's second CTRL + C from a copy of the first that a
   * wrapper forwarded late, so it may wait for its workers to tell (see `primary.ts`).
   */
  exitsOnRepeat?(signal: StopSignal): boolean;
  /** A second one: called right before the process exits with 130 or 143. */
  beforeExit?(signal: StopSignal): void;
}

/**
 * Listens for SIGINT and SIGTERM: the first calls `onStop`; a later one calls `beforeExit` and
 * exits at once (130 or 143), unless `exitsOnRepeat` says not yet. With `echoes`, a signal within `SIGNAL_ECHO_MS` of the first is
 * that same request again, not a second one: CTRL + C reaches the whole process group, and
 * wrappers (npm, tsx) forward the same signal again. Returns the removers.
 */
export function listenForSignals(
  runtime: Runtime,
  log: Logger,
  handlers: SignalHandlers,
  echoes: boolean,
): (() => void)[] {
  let firstSignalAt: number | undefined;
  return (["SIGINT", "SIGTERM"] as const).map((signal) =>
    runtime.onSignal(signal, () => {
      const now = Date.now();
      if (firstSignalAt === undefined) {
        firstSignalAt = now;
        handlers.onStop(signal);
      } else if (
        (!echoes || now - firstSignalAt > SIGNAL_ECHO_MS) &&
        (handlers.exitsOnRepeat?.(signal) ?? true)
      ) {
        log.error(`Received ${signal} while stopping: exiting now`, { signal });
        handlers.beforeExit?.(signal);
        runtime.exit(EXIT_CODES[signal]);
      }
    })
  );
}
