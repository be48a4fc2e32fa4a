/**
 * Several processes serving one app on one port, as Hypercorn's workers do. The same script
 * runs in every process: the primary (the one a person or an orchestrator started) runs no
 * lifespan; it starts `workers` copies of the program, each told it is a worker by the
 * `LIFESPAN_HONO_WORKER` environment variable, which serve normally (startup, bind with
 * `reusePort`, drain, shutdown) and report over the IPC channel when they listen or fail.
 *
 * The primary resolves `serve()` once every worker listens, forwards SIGINT and SIGTERM to
 * them (workers treat a signal echoed within 200 ms as one), restarts a worker that dies while
 * serving (100 ms back-off, doubling to 10 s), and settles `finished` once each has shut down.
 * A worker failing at startup stops the others and fails the primary with its exit code.
 *
 * Loaded only when `workers` is more than 1, so that a single process never loads it.
 *
 * @module
 */
import process from "node:process";
import { LifespanError, messageOf, ShutdownError, StartupError } from "../errors.ts";
import { formatUrl, listenForSignals } from "./_server.ts";
import type { ListenInfo, Runtime, Server, WorkerProcess } from "./types.ts";

/** The environment variable that tells a process it is worker number `index`, and its port. */
export const WORKER_ENV = "LIFESPAN_HONO_WORKER";

/** First delay before restarting a worker that died; doubled at each death, up to the max. */
const RESTART_DELAY_MIN = 100;
const RESTART_DELAY_MAX = 10_000;
/** A worker that served this long before dying was healthy: its back-off starts over. */
const RESTART_RESET_AFTER = 10_000;

/** What a worker tells its primary over the IPC channel. */
type Report =
  | { lifespanWorker: "listening" }
  | { lifespanWorker: "failed"; message: string; hook?: string }
  | { lifespanWorker: "stopped"; succeeded: boolean };

function _isReport(message: unknown): message is Report {
  return typeof message === "object" && message !== null && "lifespanWorker" in message;
}

/** The number of workers `workers` asks for: `"auto"` is one per CPU. */
export async function workerCount(workers: number | "auto"): Promise<number> {
  if (workers !== "auto") return workers;
  const { availableParallelism } = await import("node:os");
  return availableParallelism();
}

// --- In a worker -------------------------------------------------------------------------

/** A worker's side of the channel to its primary. */
export interface PrimaryLink {
  /** The port every worker binds (the primary picked it when asked for port 0). */
  readonly port: number;
  /** Tells the primary this worker listens. */
  listening(): void;
  /** Tells the primary why startup failed; resolves once the message is on its way. */
  failed(error: unknown): Promise<void>;
  /** Tells the primary the shutdown is over, and whether it succeeded; resolves once sent. */
  stopped(succeeded: boolean): Promise<void>;
  /** Calls `listener` if the primary goes away (its end of the channel closed). */
  onPrimaryGone(listener: () => void): void;
  /** Lets the event loop empty although the channel is open: the worker has stopped. */
  close(): void;
}

/**
 * The link to the primary when this process is a worker: `marker` is the value of
 * `WORKER_ENV`. Undefined when it is absent or there is no IPC channel to report on.
 */
export function joinPrimary(marker: string | undefined): PrimaryLink | undefined {
  if (marker === undefined || typeof process.send !== "function") return undefined;
  const { port } = JSON.parse(marker) as { port: number };
  // A program the app starts in turn must not take itself for a worker.
  delete process.env[WORKER_ENV];
  const send = (report: Report) =>
    new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      process.send!(report, undefined, {}, () => resolve());
    });
  const removers: (() => void)[] = [];
  return {
    port,
    listening: () => void send({ lifespanWorker: "listening" }),
    failed: (error) =>
      send({
        lifespanWorker: "failed",
        message: messageOf(error),
        ...(error instanceof StartupError ? { hook: error.hook } : {}),
      }),
    stopped: (succeeded) => send({ lifespanWorker: "stopped", succeeded }),
    onPrimaryGone(listener) {
      process.once("disconnect", listener);
      removers.push(() => process.off("disconnect", listener));
    },
    close() {
      removers.splice(0).forEach((remove) => remove());
      // A worker's loop would otherwise stay alive as long as the channel is open.
      process.channel?.unref();
    },
  };
}

// --- In the primary ----------------------------------------------------------------------

/** Starts `command args` as a worker with an IPC channel; for Deno and Bun. */
export async function spawnWorker(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<WorkerProcess> {
  const { spawn } = await import("node:child_process");
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  return child;
}

/** What the primary needs of the resolved `serve()` options. */
export interface PrimaryOptions {
  readonly count: number;
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  readonly handleSignals: boolean;
  readonly signal?: AbortSignal;
  readonly onListen?: (info: ListenInfo) => void;
}

/** One worker place: the process in it now, and its restart state. */
interface Slot {
  readonly index: number;
  /** True while its process is being started, so that the stop waits for it too. */
  spawning: boolean;
  child?: WorkerProcess;
  pid?: number;
  listeningSince?: number;
  /** Why the current process said its startup failed, if it did. */
  failure?: { message: string; hook?: string };
  /** Whether the current process said its shutdown succeeded, once it is over. */
  stopped?: boolean;
  restartDelay: number;
  restartTimer?: ReturnType<typeof setTimeout>;
}

/** A worker that ended the primary's startup or shutdown badly. */
interface Failure {
  slot: Slot;
  pid?: number;
  code: number | null;
  signal: string | null;
  report?: { message: string; hook?: string };
}

function _describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

function _name(slot: Slot, count: number, pid = slot.pid): string {
  return `Worker ${slot.index} of ${count} (pid ${pid ?? "unknown"})`;
}

/** A free port on `hostname`, for workers that each bind the port themselves. */
async function _freePort(runtime: Runtime, hostname: string): Promise<number> {
  const listener = await runtime.listen({
    handler: () => new Response(null, { status: 503 }),
    hostname,
    port: 0,
  });
  await listener.close(1000); // no connection to wait for: resolves once closed
  return listener.port;
}

/** Runs the primary: starts the workers, resolves once all listen. See the module doc. */
export async function servePrimary(runtime: Runtime, options: PrimaryOptions): Promise<Server> {
  const { count, hostname } = options;
  // node:cluster would share port 0 too, but only while one worker holds it: a fixed port
  // lets a worker restarted after all others died bind the same one.
  const port = options.port === 0 ? await _freePort(runtime, hostname) : options.port;
  const slots: Slot[] = Array.from(
    { length: count },
    (_, i) => ({ index: i + 1, spawning: false, restartDelay: RESTART_DELAY_MIN }),
  );
  // Typed by assertion: callbacks change it, which the compiler's narrowing does not see.
  let phase = "starting" as "starting" | "serving" | "stopping";
  let stopRequest: string | undefined;
  let startupFailure: Failure | undefined;
  const shutdownFailures: Failure[] = [];

  let allListening!: () => void;
  const listening = new Promise<void>((resolve) => allListening = resolve);
  let allExited!: () => void;
  const exited = new Promise<void>((resolve) => allExited = resolve);

  const kill = (slot: Slot, signal: "SIGINT" | "SIGTERM") => {
    if (slot.child === undefined || slot.pid === undefined) return;
    try {
      // process.kill, not child.kill: Deno then reports the exit code the worker chose.
      process.kill(slot.pid, signal);
    } catch {
      // It has just exited: its "close" event comes next.
    }
  };
  const checkExited = () => {
    const gone = (slot: Slot) =>
      !slot.spawning && slot.child === undefined && slot.restartTimer === undefined;
    if (slots.every(gone)) {
      allExited();
    }
  };
  const beginStop = (reason: string, signal: "SIGINT" | "SIGTERM") => {
    stopRequest ??= reason;
    if (phase === "stopping") return;
    phase = "stopping";
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      kill(slot, signal);
    }
    checkExited();
  };

  const onExit = (slot: Slot, code: number | null, signal: string | null) => {
    const failure: Failure = { slot, pid: slot.pid, code, signal, report: slot.failure };
    const { listeningSince: served, stopped } = slot;
    slot.child = undefined;
    slot.listeningSince = undefined;
    slot.failure = undefined;
    slot.stopped = undefined;
    if (phase === "starting") {
      startupFailure ??= failure;
      beginStop("a worker failing at startup", "SIGTERM");
    } else if (phase === "stopping") {
      // A worker still starting when the stop came fails with "startup interrupted": not a
      // shutdown failure, since it never served. One that had shut down may still be killed by
      // a late copy of the signal (CTRL + C reaches it, then the primary forwards it again).
      const clean = code === 0 || (stopped === true && signal !== null);
      if (served !== undefined && !clean) shutdownFailures.push(failure);
    } else {
      if (served !== undefined && Date.now() - served >= RESTART_RESET_AFTER) {
        slot.restartDelay = RESTART_DELAY_MIN;
      }
      const delay = slot.restartDelay;
      slot.restartDelay = Math.min(delay * 2, RESTART_DELAY_MAX);
      const when = served === undefined ? "at startup" : "while serving";
      const why = failure.report === undefined ? "" : ` (${failure.report.message})`;
      console.error(
        `${_name(slot, count, failure.pid)} ${_describeExit(code, signal)} ${when}${why}: ` +
          `restarting it in ${delay} ms`,
      );
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        void start(slot);
      }, delay);
    }
    checkExited();
  };

  const start = async (slot: Slot) => {
    let child: WorkerProcess;
    slot.spawning = true;
    try {
      child = await runtime.startWorker({
        [WORKER_ENV]: JSON.stringify({ index: slot.index, port }),
      });
    } catch (error) {
      slot.spawning = false;
      slot.pid = undefined;
      slot.failure = { message: `cannot start it: ${messageOf(error)}` };
      onExit(slot, 1, null);
      return;
    }
    slot.spawning = false;
    slot.child = child;
    slot.pid = child.pid;
    const restarted = phase === "serving";
    child.on("message", (message) => {
      if (!_isReport(message) || slot.child !== child) return;
      if (message.lifespanWorker === "failed") {
        slot.failure = { message: message.message, hook: message.hook };
        return;
      }
      if (message.lifespanWorker === "stopped") {
        slot.stopped = message.succeeded;
        return;
      }
      slot.listeningSince = Date.now();
      if (restarted) console.error(`${_name(slot, count)} restarted and listening`);
      if (slots.every((slot) => slot.listeningSince !== undefined)) allListening();
    });
    child.on("close", (code, signal) => onExit(slot, code, signal));
    // A stop that came while this worker was being started.
    if (phase === "stopping") kill(slot, "SIGTERM");
  };

  const removers: (() => void)[] = [];
  const removeListeners = () => removers.splice(0).forEach((remove) => remove());
  if (options.handleSignals) {
    removers.push(...listenForSignals(runtime, {
      onStop: (signal) => beginStop(signal, signal),
      // A second signal ends the workers at once too: each takes it for its own second one.
      beforeExit: (signal) => slots.forEach((slot) => kill(slot, signal)),
    }));
  }
  const { signal } = options;
  if (signal !== undefined) {
    const onAbort = () => beginStop("the signal option", "SIGTERM");
    signal.addEventListener("abort", onAbort, { once: true });
    removers.push(() => signal.removeEventListener("abort", onAbort));
  }

  for (const slot of slots) void start(slot);
  if (signal?.aborted) beginStop("the signal option", "SIGTERM");
  await Promise.race([listening, exited]);

  if (phase === "stopping") {
    await exited;
    removeListeners();
    if (startupFailure !== undefined) throw _startupError(startupFailure, count);
    throw new LifespanError(`Startup interrupted by ${stopRequest}: shut down without serving`);
  }
  phase = "serving";

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      beginStop("shutdown()", "SIGTERM");
      await exited;
      removeListeners();
      if (shutdownFailures.length > 0) {
        const errors = shutdownFailures.map((failure) =>
          new Error(
            `${_name(failure.slot, count, failure.pid)} ${
              _describeExit(failure.code, failure.signal)
            } while shutting down`,
          )
        );
        throw new ShutdownError(
          `Shutdown failed in ${errors.length} of ${count} workers: ${errors[0]!.message}`,
          errors,
        );
      }
    })();
    return stopped;
  };
  // However the workers were told to stop, `finished` settles once they all have.
  const finished = exited.then(stop);
  finished.catch((error) => {
    // A stop that a signal started has no caller to report to: log it, exit non-zero.
    if (stopRequest === "shutdown()") return;
    console.error(messageOf(error));
    runtime.setExitCode(1);
  });

  const info: ListenInfo = { hostname, port, url: formatUrl(hostname, port, options.secure) };
  try {
    options.onListen?.(info);
  } catch (error) {
    console.error("onListen threw:", error);
  }
  return { ...info, finished, shutdown: stop, [Symbol.asyncDispose]: stop };
}

/** The error of the primary's `serve()` when a worker failed at startup, with its exit code. */
function _startupError(failure: Failure, count: number): LifespanError {
  const { slot, pid, code, signal, report } = failure;
  const message = report !== undefined
    ? `${_name(slot, count, pid)} failed at startup: ${report.message}`
    : `${_name(slot, count, pid)} ${_describeExit(code, signal)} before listening`;
  const error = report?.hook !== undefined
    ? new StartupError(message, report.hook)
    : new LifespanError(message);
  return Object.assign(error, { exitCode: code !== null && code !== 0 ? code : 1 });
}
