/**
 * The one lifecycle of a server, whether it serves the app in this process or through workers:
 *
 * listen for stop requests → start → (a stop asked for meanwhile undoes the start) → serving →
 * stop (once, however it is asked for) → remove the listeners → settle `finished`.
 *
 * What is started and stopped is a `Service`: the app in this process (`single.ts`), or the
 * workers of a primary (`primary.ts`).
 *
 * @module
 */
import { LifespanError } from "../core/errors.ts";
import { type Logger, messageOf } from "../core/log.ts";
import type { Runtime } from "../runtimes/types.ts";
import { listenForSignals, type StopSignal } from "./signals.ts";
import type { ListenInfo, Server } from "./types.ts";

/** How a stop ended. */
export interface StopReport {
  /**
   * Work was left running (requests cut past the grace period, a teardown step or background
   * task past its timeout) and may hold timers or sockets for as long as it likes.
   */
  readonly leftRunning: boolean;
  /** Why the stop failed, if it did: what `shutdown()` and `finished` reject with. */
  readonly error?: unknown;
  /** What asked for the stop (a signal's name, `shutdown()`, `RELOAD`…); set by the lifecycle. */
  readonly reason?: string;
}

/** The stop reason of a server that the next version of the app replaces (`bun --hot`). */
export const RELOAD = "a hot reload";

/** The stop reason of a worker that a reload replaced (see `single.ts` and `worker.ts`). */
export const RETIRED = "a reload (a new worker took its place)";

/** What a lifecycle starts and stops. */
export interface Service {
  /**
   * Starts serving and resolves where it listens. When `interrupted` aborts meanwhile (a stop
   * was asked for), the service undoes what it did and rejects with `startupInterrupted()`.
   */
  start(interrupted: AbortSignal): Promise<ListenInfo>;
  /** Stops serving (called once); resolves once stopped, never rejects. */
  stop(reason: string): Promise<StopReport>;
  /** Settles if the service ends by itself: the lifecycle then stops it. */
  readonly ended?: Promise<void>;
  /**
   * Replaces what serves without stopping serving (a primary's workers, one at a time);
   * rejects if it could not, having logged why. A service that has it reloads on SIGHUP.
   */
  reload?(): Promise<void>;
  /**
   * A signal came again while stopping, past the echo window: whether the process exits now.
   * Without this method it does.
   */
  exitsOnRepeat?(signal: StopSignal): boolean;
  /** A second signal is about to end the process at once. */
  exitNow?(signal: StopSignal): void;
}

/** What `serve()` resolves to, and what `run()` also needs to know. */
export interface Running {
  /** The public server. */
  readonly server: Server;
  /** Settles once stopped, with how; never rejects. */
  readonly stopped: Promise<StopReport>;
  /** Asks for a stop as a signal would, for `reason`; resolves once stopped. */
  stop(reason: string): Promise<StopReport>;
}

/** How a lifecycle listens for stop requests. */
export interface LifecycleOptions {
  readonly runtime: Runtime;
  readonly log: Logger;
  /** Stop on SIGINT and SIGTERM; a second one exits at once. Reload on SIGHUP if it can. */
  readonly handleSignals: boolean;
  /**
   * Take no action on SIGHUP rather than die of it (a worker, whose primary reloads on it: a
   * terminal that hangs up sends it to every process).
   */
  readonly ignoreHangup?: boolean;
  /** Why `reload()` rejects when the service cannot reload, if not for having no workers. */
  readonly reloadUnavailable?: string;
  /** Count a signal within 200 ms of the first as that one again (see `signals.ts`). */
  readonly signalEchoes: boolean;
  /** Aborting it asks for a stop. */
  readonly signal?: AbortSignal;
  /** Other ways to be asked to stop (a worker's primary): each returns its remover. */
  readonly stopSources?: readonly ((requestStop: (reason: string) => void) => () => void)[];
  /** Called once serving. */
  readonly onListen?: (info: ListenInfo) => void;
}

/** The code `run()` exits with for an error that says, e.g. a worker's that failed; else 1. */
export const exitCodes: WeakMap<object, number> = new WeakMap();

/** The error of a start that a stop request interrupted. */
export function startupInterrupted(interrupted: AbortSignal): LifespanError {
  return new LifespanError(
    `Startup interrupted by ${String(interrupted.reason)}: shut down without serving`,
  );
}

/** Runs `service` through its lifecycle; resolves once it serves. See the module doc. */
export async function startLifecycle(
  service: Service,
  options: LifecycleOptions,
): Promise<Running> {
  const { runtime, log, signal } = options;
  const interruption = new AbortController();
  let reason: string | undefined;
  /** Set once serving: stops on a request that has no caller to report a failure to. */
  const serving: { stopUnattended?: () => void } = {};
  const requestStop = (why: string) => {
    reason ??= why;
    interruption.abort(reason);
    serving.stopUnattended?.();
  };

  const removers: (() => void)[] = [];
  const removeListeners = () => removers.splice(0).forEach((remove) => remove());
  // Installed before startup, so that a signal during startup is not the default instant death.
  if (options.handleSignals) {
    removers.push(...listenForSignals(runtime, log, {
      onStop: requestStop,
      exitsOnRepeat: service.exitsOnRepeat?.bind(service),
      beforeExit: (signal) => service.exitNow?.(signal),
    }, options.signalEchoes));
  }
  if (options.handleSignals && service.reload !== undefined) {
    const reload = service.reload.bind(service);
    removers.push(runtime.onSignal("SIGHUP", () => {
      log.info("Received SIGHUP: reloading");
      // Its failure is logged by the service, and the service goes on serving.
      reload().catch(() => {});
    }));
  } else if (options.handleSignals && options.ignoreHangup) {
    removers.push(runtime.onSignal("SIGHUP", () => log.debug("Received SIGHUP: ignored")));
  }
  for (const source of options.stopSources ?? []) removers.push(source(requestStop));
  if (signal !== undefined) {
    const onAbort = () => requestStop("options.signal");
    signal.addEventListener("abort", onAbort, { once: true });
    removers.push(() => signal.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();
  }

  let info: ListenInfo;
  try {
    info = await service.start(interruption.signal);
  } catch (error) {
    removeListeners();
    throw error;
  }

  let stopping: Promise<StopReport> | undefined;
  let settle!: (report: Promise<StopReport>) => void;
  const stopped = new Promise<StopReport>((resolve) => settle = resolve);
  const stop = (): Promise<StopReport> => {
    if (stopping === undefined) {
      reason ??= "server.shutdown()";
      const why = reason;
      stopping = service.stop(why).then((report) => ({ ...report, reason: why }))
        .finally(removeListeners);
      settle(stopping);
    }
    return stopping;
  };
  const failedStop = (report: StopReport): Promise<void> =>
    "error" in report ? Promise.reject(report.error) : Promise.resolve();
  let attended = false;
  const shutdown = () => {
    attended ||= stopping === undefined;
    return stop().then(failedStop);
  };
  const stopUnattended = () => {
    void stop().then((report) => {
      // A stop that `shutdown()` started reports its failure to that caller.
      if (attended || !("error" in report)) return;
      log.error(messageOf(report.error), { err: report.error });
      const { error } = report;
      runtime.setExitCode(
        (typeof error === "object" && error !== null && exitCodes.get(error)) || 1,
      );
    });
  };
  void service.ended?.then(stopUnattended);

  const finished = stopped.then(failedStop);
  finished.catch(() => {}); // may go unobserved: the failure reaches whoever stopped the server
  try {
    options.onListen?.(info);
  } catch (error) {
    log.error(`onListen threw: ${messageOf(error)}`, { err: error });
  }
  serving.stopUnattended = stopUnattended;
  if (reason !== undefined) stopUnattended();
  const reload = service.reload?.bind(service) ?? (() =>
    Promise.reject(
      new Error(
        options.reloadUnavailable ??
          "Cannot reload: reload() replaces worker processes and needs workers >= 2, and this " +
            "server serves the app in its own process",
      ),
    ));
  const server: Server = {
    ...info,
    finished,
    shutdown,
    reload,
    [Symbol.asyncDispose]: shutdown,
  };
  return {
    server,
    stopped,
    stop(why) {
      requestStop(why);
      return stopped;
    },
  };
}
