/**
 * Several processes serving one app on one port, as Hypercorn's workers do. The same script
 * runs in every process: the primary (the one a person or an orchestrator started) runs no
 * lifespan; it starts `workers` copies of the program, each told it is a worker by the
 * `LIFESPAN_HONO_WORKER` environment variable (see `worker.ts`), which serve as a single
 * process would (startup, bind, drain, shutdown) and report over the IPC channel.
 *
 * - The port is never free in between: with port 0, Node's workers all listen on 0 and
 *   `node:cluster` gives them one port; on Deno and Bun the first worker binds a free port
 *   (with `reusePort`) and the primary sends it to the others.
 * - The primary asks workers to stop over the IPC channel, however it was asked (a signal,
 *   `options.signal`, `shutdown()`): a worker tells the primary asking again from a second
 *   CTRL + C of the user's, which it receives itself. The primary cannot tell a second
 *   CTRL + C from a copy of the first that a wrapper (npm, tsx) forwarded to it late, but its
 *   workers can: a terminal sends CTRL + C to every process, so a worker ended by a repeated
 *   signal (exit code 130 or 143) is the sign, and the primary then exits at once too (it waits
 *   `SIGNAL_ECHO_MS` for its own copy when it saw that worker's exit first). A signal
 *   repeated to the primary alone is taken as such a copy, once; the one after it ends the
 *   process.
 * - A worker that dies while serving is restarted after a back-off (100 ms, doubling to 10 s);
 *   one that has to be restarted more than `START_LIMIT_BURST` times within
 *   `START_LIMIT_INTERVAL` ms (systemd's defaults) is given up: the others stop and the
 *   primary fails with that worker's exit code. The window counts the time the worker's
 *   processes ran, not the back-off delays between them: a worker that fails at every start
 *   is given up even when its startup is slow (with the delays, 5 restarts take 3.1 s, and a
 *   startup of more than about 1.2 s would never fit 6 exits into 10 s).
 * - `reload()` (SIGHUP) replaces the workers one at a time: a new process for the place (so
 *   it loads the code on disk now), on the same port; once it listens, the old one is told to
 *   retire (drain and shut down as at a stop) and the next place follows once it has exited.
 *   A new worker that fails at startup stops the reload: the workers not yet replaced keep
 *   serving. Replacements are no restarts: they neither count towards the restart limit nor
 *   wait for a back-off, and a place's restart history starts over with its new worker.
 * - `maxRequests`: a worker that has answered its limit asks to be replaced, and is, as a
 *   reload replaces it (the new one listens first), one place at a time: the replacements and
 *   the reloads take turns. A reload covers the places it has yet to replace, and a stop wins
 *   over every replacement still to come. Such a replacement is no restart either.
 *
 * Loaded only when `workers` is more than 1, so that a single process never loads it.
 *
 * @module
 */
import { LifespanError, ShutdownError, StartupError } from "../core/errors.ts";
import { type Logger, messageOf } from "../core/log.ts";
import { delay } from "../core/timers.ts";
import type { Runtime, WorkerProcess } from "../runtimes/types.ts";
import { exitCodes, type Service, startupInterrupted, type StopReport } from "./lifecycle.ts";
import { formatUrl, type Settings } from "./settings.ts";
import { EXIT_CODES, SIGNAL_ECHO_MS } from "./signals.ts";
import type { ListenInfo } from "./types.ts";
import { clearStaleSocket } from "./unix.ts";
import { type Order, type Report, WORKER_ENV, type WorkerMarker } from "./worker.ts";

/** More restarts of one worker than this within `START_LIMIT_INTERVAL` ms: give up. */
export const START_LIMIT_BURST = 5;
/** The window of `START_LIMIT_BURST`, in ms of the worker's run time. */
export const START_LIMIT_INTERVAL = 10_000;

/** When a worker that died is restarted, and when it is given up. */
export interface RestartPolicy {
  /** The first delay before a restart, in ms; doubled at each death, up to `maxDelay`. */
  readonly minDelay: number;
  /** The longest delay before a restart, in ms. */
  readonly maxDelay: number;
  /** A worker that served this long (ms) before dying was healthy: its back-off starts over. */
  readonly resetAfter: number;
  /** More restarts than this within `interval` ms of run time: give up. */
  readonly burst: number;
  /** The window of `burst`, in ms, the back-off delays not counted. */
  readonly interval: number;
}

/** The restart policy of every primary: tests pass a faster one. */
export const RESTART_POLICY: RestartPolicy = {
  minDelay: 100,
  maxDelay: 10_000,
  resetAfter: 10_000,
  burst: START_LIMIT_BURST,
  interval: START_LIMIT_INTERVAL,
};

/** How a worker process ended. */
interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** What the primary knows of a worker process, started or not. */
interface WorkerRecord {
  readonly slot: Slot;
  readonly pid: number | undefined;
  /** Whether a reload started it in place of the slot's worker. */
  readonly replacing: boolean;
  /** Since when it listens; undefined before. */
  listeningSince?: number;
  /** Why it said its startup failed (or could not be started), if it did. */
  failure?: { readonly message: string; readonly hook?: string };
  /** How it ended, once it has. */
  exit?: Exit;
}

/** One worker process, as the primary sees it. */
interface Worker extends WorkerRecord {
  readonly child: WorkerProcess;
  /** Whether it said its shutdown succeeded, once over. */
  stopped?: boolean;
  /** Whether it was asked to stop. */
  stopAsked: boolean;
  /** Whether a reload replaced it: it drains and stops, and is not restarted. */
  retired: boolean;
  /** Whether it asked to be replaced, having answered its `maxRequests`. */
  recycled?: boolean;
  /** Whether it waits for the shared port. */
  waitsForPort: boolean;
  /** Orders kept until it is ready for them (it listens on its channel). */
  pending?: Order[];
  /** Settles once it listens (true), or exits before (false). */
  readonly listened: Promise<boolean>;
  /** Settles when it has exited. */
  readonly exited: Promise<Exit>;
}

/** One worker place: the process in it now, and its restart state. */
interface Slot {
  readonly index: number;
  /** The process serving (or starting to serve) in this place. */
  worker?: Worker;
  /** The process a reload is starting in this place, until it listens. */
  replacement?: Worker;
  /** How many processes are being started for it. */
  spawning: number;
  restartDelay: number;
  /** A restart waiting: for the signal echo window to pass, then for its back-off. */
  restartTimer?: ReturnType<typeof setTimeout>;
  /** The ms its processes spent waiting for a restart: its run time is the rest. */
  waited: number;
  /** When it was restarted (on its run-time clock), within the policy's interval. */
  restarts: number[];
}

const ignore = () => {};

function isReport(message: unknown): message is Report {
  return typeof message === "object" && message !== null && "lifespanWorker" in message;
}

/** Whether a process exited as a second SIGINT or SIGTERM makes it (see `signals.ts`). */
function isForcedExit(code: number | null): code is number {
  return code === EXIT_CODES.SIGINT || code === EXIT_CODES.SIGTERM;
}

/** Whether a process was ended by SIGINT or SIGTERM, or exited as a second one makes it. */
function isSignalled({ code, signal }: Exit): boolean {
  return signal === "SIGINT" || signal === "SIGTERM" || isForcedExit(code);
}

function describeExit({ code, signal }: Exit): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** The number of workers `workers` asks for: `"auto"` is one per CPU. */
export async function workerCount(workers: number | "auto"): Promise<number> {
  if (workers !== "auto") return workers;
  const { availableParallelism } = await import("node:os");
  return availableParallelism();
}

/**
 * Clears a unix socket's path once, before any worker starts: `node:cluster` binds it in this
 * process, at the first worker's listen, and a worker must not touch the socket of the others.
 * (Deno and Bun do not serve one with workers: see `serve.ts`.)
 */
async function clearSocketPath(path: string): Promise<void> {
  try {
    await clearStaleSocket(path);
  } catch (error) {
    throw new Error(`Cannot listen on unix:${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** The primary of `count` workers. See the module doc. */
export function primaryService(
  runtime: Runtime,
  settings: Settings,
  count: number,
  log: Logger,
  policy: RestartPolicy = RESTART_POLICY,
): Service {
  const { hostname } = settings;
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    spawning: 0,
    restartDelay: policy.minDelay,
    waited: 0,
    restarts: [],
  }));
  /** Every worker process that has not exited: serving, starting, or retiring. */
  const live = new Set<Worker>();
  /** The port every worker binds, once known. */
  let port: number | undefined = settings.port === 0 ? undefined : settings.port;
  let phase = "starting" as "starting" | "serving" | "stopping";
  /** Why the primary fails: a worker that failed at startup, or was given up. */
  let failure: LifespanError | undefined;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => end = resolve);
  /** Settles once no worker process is left and none is being started or waited for. */
  let allGone: Promise<void> | undefined;
  let settleAllGone: (() => void) | undefined;
  const checkAllGone = () => {
    const idle = (slot: Slot) => slot.spawning === 0 && slot.restartTimer === undefined;
    if (live.size === 0 && slots.every(idle)) settleAllGone?.();
  };
  /** Workers that stopped badly while shutting down. */
  const stopFailures: Error[] = [];
  let listenersLeft = count;
  let allListening!: () => void;
  const listening = new Promise<void>((resolve) => allListening = resolve);
  let stopBegan!: () => void;
  const stopping = new Promise<void>((resolve) => stopBegan = resolve);
  /** Signals this process got again while stopping, past the echo window. */
  let repeatedSignals = 0;
  /** A worker that a repeated signal ended while stopping, and its exit code. */
  let forced: { readonly worker: WorkerRecord; readonly code: number } | undefined;
  /** The reload running, and the one asked for meanwhile, which follows it. */
  let reloading: Promise<void> | undefined;
  let nextReload: Promise<void> | undefined;
  /**
   * Reloads and `maxRequests` replacements, one after the other: one worker is replaced at a
   * time. Settles once the last job given to it is over.
   */
  let lane: Promise<void> = Promise.resolve();
  const inLane = <T>(job: () => Promise<T>): Promise<T> => {
    const run = lane.then(job);
    lane = run.then(ignore, ignore);
    return run;
  };

  const name = (worker: WorkerRecord) =>
    `Worker ${worker.slot.index} of ${count} (pid ${worker.pid ?? "unknown"})`;
  const order = (worker: Worker, message: Order) => {
    if (worker.pending !== undefined) return void worker.pending.push(message);
    // A worker that has exited (after a CTRL + C it got too, say) keeps its place in `live`
    // until its "close" event, which may come after this process's own signal: the send then
    // fails, later, on a closed channel. Without a callback, Node, Deno and Bun emit that
    // failure as an "error" event on the child, which node:cluster emits again on its Worker,
    // where nothing listens: on Node this process crashed (exit 1), and its workers exited at
    // once with it, cutting their requests. The worker is exiting anyway: its "close" event
    // comes next.
    worker.child.send(message, () => {});
  };
  const askToStop = (worker: Worker, retire = false) => {
    if (worker.stopAsked) return;
    worker.stopAsked = true;
    if (worker.pending === undefined) {
      return order(worker, { lifespanPrimary: retire ? "retire" : "stop" });
    }
    // Not listening on its channel yet, so not started either: a message would be lost. The
    // signal stops it (gracefully, if it has installed its listeners meanwhile).
    try {
      runtime.kill(worker.pid!, "SIGTERM");
    } catch {
      // It has just exited.
    }
  };

  const stopAll = () => {
    if (phase === "stopping") return;
    phase = "stopping";
    stopBegan();
    allGone = new Promise((resolve) => settleAllGone = resolve);
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    for (const worker of live) askToStop(worker);
    checkAllGone();
  };

  const onReport = (worker: Worker, report: Report) => {
    if (report.lifespanWorker === "ready") {
      const pending = worker.pending ?? [];
      worker.pending = undefined;
      for (const message of pending) order(worker, message);
    } else if (report.lifespanWorker === "failed") {
      worker.failure = { message: report.message, hook: report.hook };
    } else if (report.lifespanWorker === "stopped") {
      worker.stopped = report.succeeded;
      // Sent after every connection node:cluster handed it (see the order's doc in worker.ts).
      order(worker, { lifespanPrimary: "released" });
    } else if (report.lifespanWorker === "maxRequests") {
      recycle(worker, report.requests);
    } else {
      worker.listeningSince = Date.now();
      if (port === undefined) {
        port = report.port;
        for (const other of live) {
          if (other.waitsForPort) order(other, { lifespanPrimary: "port", port });
        }
      } else if (report.port !== port) {
        // node:cluster let go of port 0 when every worker had died: a restart got another.
        log.error(`${name(worker)} listens on port ${report.port}, not ${port}`, {
          worker: worker.slot.index,
          port: report.port,
          expectedPort: port,
        });
      }
      if (phase === "serving" && !worker.replacing) {
        log.info(`${name(worker)} restarted and listening`);
      }
      if (--listenersLeft === 0) allListening();
    }
  };

  const onExit = (worker: WorkerRecord, exit: Exit) => {
    const { slot } = worker;
    worker.exit = exit;
    if (slot.worker === worker) slot.worker = undefined;
    if (slot.replacement === worker) slot.replacement = undefined;
    // A worker shut down cleanly if it said so: one that had may still be killed by a late
    // CTRL + C of the user's, after it removed its signal listeners.
    const clean = exit.code === 0 || ("stopped" in worker && worker.stopped === true);
    if (phase === "starting") {
      failure ??= startupFailure(worker, exit);
      stopAll();
    } else if (phase === "stopping") {
      // A worker still starting when the stop came fails with "startup interrupted": not a
      // shutdown failure, since it never served.
      if (!clean && isForcedExit(exit.code)) {
        forced ??= { worker, code: exit.code };
        // This process got the signal again too: a second CTRL + C of the user's.
        if (repeatedSignals > 0) exitWithForcedWorker();
      }
      if (worker.listeningSince !== undefined && !clean) {
        stopFailures.push(new Error(`${name(worker)} ${describeExit(exit)} while shutting down`));
      }
    } else if ("retired" in worker && worker.retired) {
      if (!clean) {
        log.error(`${name(worker)} ${describeExit(exit)} while shutting down, replaced`, {
          worker: slot.index,
          code: exit.code,
          signal: exit.signal,
        });
      }
    } else if (worker.replacing && worker.listeningSince === undefined) {
      // A reload's new worker that failed at startup: the reload reports it. Its place is
      // empty only if the worker it was to replace died meanwhile: that one is restarted.
      if (slot.worker === undefined && slot.spawning === 0 && slot.restartTimer === undefined) {
        restart(worker, exit);
      }
    } else if (clean || isSignalled(exit)) {
      // Most likely the user's CTRL + C, which reaches every process: the worker's copy came
      // first, and this process's own is on its way. Decided once the echo window has passed,
      // so that a restart the stop would cancel is neither logged nor started.
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        slot.waited += SIGNAL_ECHO_MS;
        restart(worker, exit);
      }, SIGNAL_ECHO_MS);
    } else {
      restart(worker, exit);
    }
    checkAllGone();
  };

  const restart = (worker: WorkerRecord, exit: Exit) => {
    const { slot } = worker;
    const now = Date.now();
    const served = worker.listeningSince;
    if (served !== undefined && now - served >= policy.resetAfter) {
      slot.restartDelay = policy.minDelay;
    }
    const clock = now - slot.waited;
    slot.restarts = [...slot.restarts.filter((at) => clock - at < policy.interval), clock];
    const when = served === undefined ? "at startup" : "while serving";
    const why = worker.failure === undefined ? "" : ` (${worker.failure.message})`;
    if (slot.restarts.length > policy.burst) {
      // Logged once, by the lifecycle that this failure ends.
      failure = new LifespanError(
        `${name(worker)} ${describeExit(exit)} ${when}${why}, its ${slot.restarts.length}th ` +
          `exit within ${policy.interval} ms of run time: giving up after ${policy.burst} ` +
          "restarts",
      );
      exitCodes.set(failure, exit.code !== null && exit.code !== 0 ? exit.code : 1);
      end();
      return;
    }
    const fields = { worker: slot.index, code: exit.code, signal: exit.signal };
    if (slot.replacement !== undefined) {
      log.error(
        `${name(worker)} ${describeExit(exit)} ${when}${why}: the new worker a reload is ` +
          `starting (pid ${slot.replacement.pid}) takes its place`,
        fields,
      );
      return;
    }
    const delay = slot.restartDelay;
    slot.restartDelay = Math.min(delay * 2, policy.maxDelay);
    slot.waited += delay;
    log.error(`${name(worker)} ${describeExit(exit)} ${when}${why}: restarting it in ${delay} ms`, {
      ...fields,
      delayMs: delay,
    });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      void spawn(slot, false);
    }, delay);
  };

  /**
   * Starts a process for `slot`: its worker, or with `replacing` the new worker a reload puts
   * in its place. Resolves with it, or with what is known of it if it could not be started.
   */
  const spawn = async (slot: Slot, replacing: boolean): Promise<Worker | WorkerRecord> => {
    // Node's workers share port 0 through node:cluster (one handle for every worker that
    // listens on 0); elsewhere the first one picks a port and the others wait for it.
    const shared = runtime.workersShareSocket;
    const waitsForPort = !shared && port === undefined && slot.index > 1;
    const marker: WorkerMarker = {
      index: slot.index,
      port: shared ? settings.port : waitsForPort ? null : port ?? 0,
    };
    let child: WorkerProcess;
    slot.spawning++;
    try {
      child = await runtime.startWorker({ [WORKER_ENV]: JSON.stringify(marker) });
    } catch (error) {
      slot.spawning--;
      const failure = { message: `cannot start it: ${String(error)}` };
      const record: WorkerRecord = { slot, pid: undefined, replacing, failure };
      onExit(record, { code: 1, signal: null });
      return record;
    }
    slot.spawning--;
    let listened!: (listening: boolean) => void;
    const worker: Worker = {
      slot,
      child,
      pid: child.pid,
      replacing,
      stopAsked: false,
      retired: false,
      waitsForPort,
      pending: [],
      listened: new Promise((resolve) => listened = resolve),
      exited: new Promise((resolve) => {
        child.on("close", (code, signal) => {
          live.delete(worker);
          listened(false);
          onExit(worker, { code, signal });
          resolve({ code, signal });
        });
      }),
    };
    live.add(worker);
    if (replacing) slot.replacement = worker;
    else slot.worker = worker;
    child.on("message", (message) => {
      if (!isReport(message) || !live.has(worker)) return;
      onReport(worker, message);
      if (message.lifespanWorker === "listening") listened(true);
    });
    // The port became known while it was being started, or a stop came meanwhile.
    if (waitsForPort && port !== undefined) order(worker, { lifespanPrimary: "port", port });
    if (phase === "stopping") askToStop(worker);
    return worker;
  };

  /**
   * Replaces `worker`, which has answered `requests` (its `maxRequests`), as a reload would:
   * after the reloads and replacements before it, unless one of them replaced it meanwhile or
   * the server is stopping. Not a restart: no back-off, and not counted.
   */
  const recycle = (worker: Worker, requests: number) => {
    // A stop wins; a worker already being replaced (retired) asks for nothing.
    if (phase !== "serving" || worker.recycled || worker.slot.worker !== worker) return;
    worker.recycled = true;
    const fields = { worker: worker.slot.index, pid: worker.pid, requests };
    log.info(`${name(worker)} answered ${requests} requests: replacing it`, fields);
    inLane(async () => {
      // A reload replaced it meanwhile, or the server stops.
      if (phase !== "serving" || worker.slot.worker !== worker) return;
      await replace(worker.slot, (fresh) =>
        failedReplacement(
          `${name(worker)} is not replaced: the new ${name(fresh)} ${notListening(fresh)}. ` +
            "It keeps serving",
          fresh,
        ));
    }).catch((error: LifespanError) => {
      if (phase !== "serving") {
        return log.info(`${name(worker)} is not replaced: the server is stopping`, fields);
      }
      log.error(error.message, {
        ...fields,
        ...(error instanceof StartupError ? { hook: error.hook } : {}),
      });
    });
  };

  /**
   * Puts a new worker in `slot`'s place, then retires the one it replaces; rejects with
   * `failed(newWorker)` if the new one does not come to listen.
   */
  const replace = async (
    slot: Slot,
    failed: (worker: WorkerRecord) => LifespanError = replacementFailure,
  ): Promise<void> => {
    // A restart waiting for its back-off is not needed: the new worker takes the place.
    clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    const fresh = await spawn(slot, true);
    const listens = "listened" in fresh && await fresh.listened;
    if (phase !== "serving") throw reloadInterrupted();
    if (!listens) {
      // A stop may have come and gone meanwhile; else this is the new version failing.
      throw failed(fresh);
    }
    const worker = fresh as Worker;
    const old = slot.worker;
    slot.worker = worker;
    slot.replacement = undefined;
    // The new worker's restarts are counted from now: the old one's crashes are not its own.
    slot.restartDelay = policy.minDelay;
    slot.waited = 0;
    slot.restarts = [];
    if (old === undefined) {
      log.info(`${name(worker)} listens in an empty place`, { worker: slot.index });
      return;
    }
    log.info(`${name(worker)} listens: ${name(old)} drains and shuts down`, {
      worker: slot.index,
      pid: worker.pid,
      replacedPid: old.pid,
    });
    old.retired = true;
    askToStop(old, true);
    await old.exited;
  };

  /** One reload: every place, one at a time. */
  const rollWorkers = async (): Promise<void> => {
    const began = Date.now();
    log.info(`Reloading: replacing ${count} workers one at a time`, { workers: count });
    for (const slot of slots) {
      if (phase !== "serving") throw reloadInterrupted();
      await replace(slot);
    }
    if (phase !== "serving") throw reloadInterrupted();
    const ms = Date.now() - began;
    log.info(`Reloaded: ${count} workers replaced in ${ms} ms`, { workers: count, durationMs: ms });
  };

  const reload = (): Promise<void> => {
    if (phase !== "serving") {
      const error = new Error(
        `Cannot reload: the workers are ${phase === "starting" ? "still starting" : "stopping"}`,
      );
      log.warn(error.message);
      return Promise.reject(error);
    }
    if (reloading === undefined) {
      const running: Promise<void> = inLane(rollWorkers).catch((error: LifespanError) => {
        if (phase !== "serving") log.warn(error.message);
        else log.error(error.message, error instanceof StartupError ? { hook: error.hook } : {});
        throw error;
      }).finally(() => {
        if (reloading === running) reloading = undefined;
      });
      return reloading = running;
    }
    // Asked again while reloading (a newer deploy, maybe): once this one is over, one more
    // replaces every worker with the code on disk then. Later requests join that one.
    if (nextReload === undefined) {
      log.info("Reload asked for while one runs: another follows once it is over");
      nextReload = reloading.then(ignore, ignore).then(() => {
        nextReload = undefined;
        return reload();
      });
    }
    return nextReload;
  };

  return {
    async start(interrupted): Promise<ListenInfo> {
      if (settings.unix !== undefined) await clearSocketPath(settings.unix);
      const onInterrupt = () => stopAll();
      interrupted.addEventListener("abort", onInterrupt, { once: true });
      try {
        for (const slot of slots) void spawn(slot, false);
        if (interrupted.aborted) stopAll();
        // A failure or an interruption begins the stop before every worker listens.
        await Promise.race([listening, stopping]);
      } finally {
        interrupted.removeEventListener("abort", onInterrupt);
      }
      if (phase === "stopping") {
        await allGone;
        throw failure ?? startupInterrupted(interrupted);
      }
      phase = "serving";
      const { unix } = settings;
      const url = formatUrl(hostname, port!, settings.tls !== undefined, unix);
      return unix === undefined ? { hostname, port: port!, url } : { hostname, port: 0, url, unix };
    },

    async stop(): Promise<StopReport> {
      stopAll();
      await allGone;
      if (forced !== undefined && repeatedSignals === 0) {
        // A worker exited on a repeated signal, and this process has not had its copy (yet):
        // a terminal's CTRL + C reaches every process at once, but this one may handle the
        // worker's exit first (Bun hands a signal to its listeners late; a busy machine, or a
        // sender signalling one process after the other, can delay it). Its listeners stay a
        // moment longer, so that the copy ends it at once, as a second CTRL + C, instead of
        // finding none and killing it, or coming after it exited 1 on the failed shutdown.
        await delay(SIGNAL_ECHO_MS);
      }
      if (failure !== undefined) return { leftRunning: false, error: failure };
      if (stopFailures.length === 0) return { leftRunning: false };
      const error = new ShutdownError(
        `Shutdown failed in ${stopFailures.length} of ${count} workers: ${
          stopFailures[0]!.message
        }`,
        stopFailures,
      );
      return { leftRunning: false, error };
    },

    ended,

    reload,

    exitsOnRepeat(signal) {
      repeatedSignals++;
      if (forced !== undefined || repeatedSignals > 1) return true;
      log.warn(
        `Received ${signal} again while the workers stop: taken as a copy of the first (a ` +
          `wrapper forwarding it), they go on stopping gracefully; send it once more to exit now`,
        { signal },
      );
      return false;
    },

    exitNow: killAll,
  };

  /** Ends every worker at once: this process is about to exit. */
  function killAll(): void {
    for (const worker of live) {
      if (worker.pid === undefined) continue;
      try {
        // process.kill, not child.kill: Deno then reports the exit code the worker chose.
        runtime.kill(worker.pid, "SIGKILL");
      } catch {
        // It has just exited.
      }
    }
  }

  /** A second CTRL + C of the user's, which a worker exited on: this process exits now too. */
  function exitWithForcedWorker(): void {
    const { worker, code } = forced!;
    log.error(`${name(worker)} exited on a repeated signal, as this process got one: exiting now`, {
      worker: worker.slot.index,
      code,
    });
    killAll();
    runtime.exit(code);
  }

  /** The error of the primary's start when `worker` failed at startup, with its exit code. */
  function startupFailure(worker: WorkerRecord, exit: Exit): LifespanError {
    const report = worker.failure;
    const message = report !== undefined
      ? `${name(worker)} failed at startup: ${report.message}`
      : `${name(worker)} ${describeExit(exit)} before listening`;
    const error = report?.hook !== undefined
      ? new StartupError(message, report.hook)
      : new LifespanError(message);
    exitCodes.set(error, exit.code !== null && exit.code !== 0 ? exit.code : 1);
    return error;
  }

  /** What went wrong with a new worker that did not come to listen. */
  function notListening({ failure: report, exit }: WorkerRecord): string {
    return report !== undefined
      ? `failed at startup: ${report.message}`
      : exit !== undefined
      ? `${describeExit(exit)} before listening`
      : "did not listen";
  }

  /** `message`, as a `StartupError` naming the hook where the new `worker` said one failed. */
  function failedReplacement(message: string, worker: WorkerRecord): LifespanError {
    const hook = worker.failure?.hook;
    return hook !== undefined ? new StartupError(message, hook) : new LifespanError(message);
  }

  /** Why a reload stopped: the new worker of `worker.slot` did not come to listen. */
  function replacementFailure(worker: WorkerRecord): LifespanError {
    const replaced = worker.slot.index - 1;
    return failedReplacement(
      `Reload stopped: the new ${name(worker)} ${notListening(worker)}. The workers it would ` +
        `have replaced keep serving${
          replaced > 0 ? ` (${replaced} of ${count} were replaced before it)` : ""
        }`,
      worker,
    );
  }

  function reloadInterrupted(): LifespanError {
    return new LifespanError("Reload interrupted: the server is stopping");
  }
}
