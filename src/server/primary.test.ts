/**
 * The primary of workers against a fake runtime: fake worker processes driven by a script,
 * and a fake kernel that records who holds which port, so that what the real runtimes hide
 * (the order of binds and closes, the messages on the IPC channel) can be asserted.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogFields, Logger } from "../core/log.ts";
import type { Listener, ListenOptions, Runtime, WorkerProcess } from "../runtimes/types.ts";
import { exitCodes } from "./lifecycle.ts";
import { primaryService, RESTART_POLICY, type RestartPolicy } from "./primary.ts";
import { resolveOptions } from "./settings.ts";
import { EXIT_CODES, SIGNAL_ECHO_MS } from "./signals.ts";
import { type Order, type Report, WORKER_ENV, type WorkerMarker } from "./worker.ts";

/** Who holds which port, and every bind and close, in order. */
class Kernel {
  /** Binds and closes. */
  readonly events: string[] = [];
  /** Binds and closes, and what happens to the workers: started, told, exited. */
  readonly timeline: string[] = [];
  readonly #holders = new Map<number, Set<string>>();
  #nextPort = 40_000;

  /**
   * `clusterSharesZero`: port 0 bound by a worker while another holds the port its port 0
   * became is that same port, as node:cluster's shared handle gives it.
   */
  constructor(readonly clusterSharesZero = false) {}

  /** Binds `port` (0: a free one, or the cluster's) for `who`; returns the port bound. */
  bind(who: string, port: number): number {
    if (port === 0) {
      const shared = this.clusterSharesZero && who !== "primary"
        ? [...this.#holders].find(([, holders]) => holders.size > 0)?.[0]
        : undefined;
      port = shared ?? this.#nextPort++;
    }
    const holders = this.#holders.get(port) ?? new Set();
    this.#holders.set(port, holders);
    this.#record(`${who} binds ${port}${holders.size === 0 ? " (free)" : ""}`);
    holders.add(who);
    return port;
  }

  close(who: string, port: number): void {
    this.#holders.get(port)?.delete(who);
    this.#record(`${who} closes ${port}`);
  }

  #record(event: string): void {
    this.events.push(event);
    this.timeline.push(event);
  }
}

/** What a fake worker does once started, told its marker; the default serves until stopped. */
type Script = (worker: FakeWorker) => Promise<void>;

/** A worker process as the primary sees it, played by a script. */
class FakeWorker implements WorkerProcess {
  readonly marker: WorkerMarker;
  readonly orders: Order[] = [];
  readonly #listeners: { message: ((message: unknown) => void)[]; close: Close[] } = {
    message: [],
    close: [],
  };
  #waiters: ((order: Order) => void)[] = [];
  #port: number | undefined;
  exited = false;

  constructor(
    readonly pid: number,
    env: Record<string, string>,
    readonly kernel: Kernel,
  ) {
    this.marker = JSON.parse(env[WORKER_ENV]!);
  }

  on(event: "message", listener: (message: unknown) => void): this;
  on(event: "close", listener: Close): this;
  on(event: "message" | "close", listener: ((message: unknown) => void) | Close): this {
    (this.#listeners[event] as unknown[]).push(listener);
    return this;
  }

  /** As a `ChildProcess` does: on a closed channel, the error goes to `callback`, later. */
  send(message: unknown, callback?: (error: Error | null) => void): boolean {
    if (this.exited) {
      const error = new Error("Channel closed");
      // Without a callback, an "error" event that nothing listens to: an uncaught exception.
      setTimeout(() => {
        if (callback === undefined) throw error;
        callback(error);
      });
      return false;
    }
    const order = message as Order;
    this.orders.push(order);
    this.kernel.timeline.push(`worker ${this.pid} told ${order.lifespanPrimary}`);
    // On the IPC channel, a message arrives later, never within the send.
    setTimeout(() => {
      this.#waiters.forEach((resolve) => resolve(order));
      this.#waiters = [];
    });
    return true;
  }

  /** The next order, or a stop if the primary signals this worker. */
  nextOrder(): Promise<Order> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** SIGTERM from the primary: taken as a stop, as a worker with its listeners does. */
  signal(): void {
    this.#waiters.forEach((resolve) => resolve({ lifespanPrimary: "stop" }));
    this.#waiters = [];
  }

  report(report: Report): void {
    setTimeout(() => this.#listeners.message.forEach((listener) => listener(report)));
  }

  /** Binds its port (waiting for the primary to send it when told to) and says so. */
  async listen(): Promise<number> {
    let port = this.marker.port;
    while (port === null) {
      const order = await this.nextOrder();
      if (order.lifespanPrimary === "port") port = order.port;
    }
    this.#port = this.kernel.bind(`worker ${this.pid}`, port);
    this.report({ lifespanWorker: "listening", port: this.#port });
    return this.#port;
  }

  /** Waits until asked to stop (or retire); resolves with which. */
  async stopRequested(): Promise<Order["lifespanPrimary"]> {
    for (;;) {
      const { lifespanPrimary } = await this.nextOrder();
      if (lifespanPrimary !== "port") return lifespanPrimary;
    }
  }

  /** Waits for the primary's answer to its "stopped" report, as `PrimaryLink.stopped()` does. */
  async released(): Promise<void> {
    while ((await this.nextOrder()).lifespanPrimary !== "released");
  }

  /** Closes its port, and exits with `code` once its last reports are on their way. */
  exit(code: number): void {
    if (this.#port !== undefined) this.kernel.close(`worker ${this.pid}`, this.#port);
    this.#port = undefined;
    setTimeout(() => {
      this.exited = true;
      this.kernel.timeline.push(`worker ${this.pid} exits ${code}`);
      this.#listeners.close.forEach((listener) => listener(code, null));
    }, 1);
  }
}

type Close = (code: number | null, signal: string | null) => void;

/** Serves until stopped: what every worker of a healthy app does. */
const serves: Script = async (worker) => {
  worker.report({ lifespanWorker: "ready" });
  await new Promise((resolve) => setTimeout(resolve, 2)); // its startup
  await worker.listen();
  await worker.stopRequested();
  worker.report({ lifespanWorker: "stopped", succeeded: true });
  await worker.released();
  worker.exit(0);
};

/** A runtime whose workers are fake ones, played by `script`. */
function fakeRuntime(kernel: Kernel, script: (worker: FakeWorker) => Promise<void> = serves) {
  const workers: FakeWorker[] = [];
  let nextPid = 100;
  const runtime: Runtime = {
    // A primary that binds the port itself (to learn a free one) goes through here.
    listen(options: ListenOptions): Promise<Listener> {
      const port = kernel.bind("primary", options.port);
      const listener: Listener = {
        hostname: options.hostname,
        port,
        websockets: { drain: () => Promise.resolve(), cut() {}, describe: () => "" },
        drain: () => Promise.resolve(kernel.close("primary", port)),
        cut() {},
        describe: () => "",
      };
      return Promise.resolve(listener);
    },
    onSignal: () => () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
    setExitCode() {},
    env: () => undefined,
    kill(pid) {
      workers.find((worker) => worker.pid === pid)?.signal();
    },
    workersShareSocket: kernel.clusterSharesZero,
    startWorker(env) {
      const worker = new FakeWorker(nextPid++, env, kernel);
      kernel.timeline.push(`worker ${worker.pid} starts as ${worker.marker.index}`);
      workers.push(worker);
      void script(worker);
      return Promise.resolve(worker);
    },
  };
  return { runtime, workers };
}

/** A logger that keeps its lines. */
function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, _fields?: LogFields) =>
    void lines.push(`${level}: ${message}`);
  return {
    lines,
    debug: keep("debug"),
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
  };
}

const settings = (port: number) =>
  resolveOptions(() => undefined, { port, workers: 2, handleSignals: false });

describe("primaryService()", () => {
  test("without a shared port 0, workers 2..N bind the port worker 1 bound, never free between", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 3, memoryLogger());
    const info = await primary.start(new AbortController().signal);

    assert.deepEqual(workers.map((worker) => worker.marker), [
      { index: 1, port: 0 },
      { index: 2, port: null },
      { index: 3, port: null },
    ]);
    const port = info.port;
    assert.deepEqual(workers[1]!.orders, [{ lifespanPrimary: "port", port }]);
    assert.deepEqual(workers[2]!.orders, [{ lifespanPrimary: "port", port }]);
    // Worker 1 found a free port and the others joined it while it held it.
    assert.deepEqual(kernel.events, [
      `worker 100 binds ${port} (free)`,
      `worker 101 binds ${port}`,
      `worker 102 binds ${port}`,
    ]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("with node:cluster, every worker listens on port 0 and the cluster shares it", async () => {
    const kernel = new Kernel(true);
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    const { port } = await primary.start(new AbortController().signal);
    assert.deepEqual(workers.map((worker) => worker.marker.port), [0, 0]);
    assert.deepEqual(workers.map((worker) => worker.orders), [[], []]);
    assert.deepEqual(kernel.events, [
      `worker 100 binds ${port} (free)`,
      `worker 101 binds ${port}`,
    ]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a worker whose channel closed before its close event came: the stop goes on", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    await primary.start(new AbortController().signal);
    // It stopped on a CTRL + C of its own and exited: its channel is closed, and the primary
    // is asked to stop before its "close" event.
    const [serving, gone] = workers;
    gone!.report({ lifespanWorker: "stopped", succeeded: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    gone!.exited = true;
    gone!.exit(0);
    assert.deepEqual(await primary.stop("test"), { leftRunning: false });
    const stops = (worker: FakeWorker) =>
      worker.orders.filter((order) => order.lifespanPrimary === "stop").length;
    assert.deepEqual([stops(serving!), stops(gone!)], [1, 0]);
  });

  test("a worker ended by a repeated signal: the stop waits the echo window for this process's copy", async () => {
    const kernel = new Kernel();
    // Worker 1 dies of a second CTRL + C of its own while stopping; worker 2 stops cleanly.
    const { runtime } = fakeRuntime(kernel, async (worker) => {
      if (worker.marker.index !== 1) return await serves(worker);
      worker.report({ lifespanWorker: "ready" });
      await worker.listen();
      await worker.stopRequested();
      worker.exit(EXIT_CODES.SIGINT);
    });
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    await primary.start(new AbortController().signal);
    const began = performance.now();
    let stopped = false;
    const stopping = primary.stop("test").finally(() => stopped = true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // both workers are gone by then
    assert.equal(stopped, false, "the stop ended before this process could get its copy");
    // Its copy of the second CTRL + C, within the window: it exits at once.
    assert.equal(primary.exitsOnRepeat!("SIGINT"), true);
    const { error } = await stopping;
    assert.ok(performance.now() - began >= SIGNAL_ECHO_MS - 1);
    assert.match(String(error), /exited with code 130 while shutting down/);
  });

  test("a port given in the options goes to every worker at its start", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(8123), 2, memoryLogger());
    assert.equal((await primary.start(new AbortController().signal)).port, 8123);
    assert.deepEqual(workers.map((worker) => worker.marker.port), [8123, 8123]);
    assert.ok(kernel.events.every((event) => !event.startsWith("primary")), kernel.events.join());
    await primary.stop("test");
  });
});

/** Whether `primary.ended` settles within `ms`: a primary that never gives up fails, not hangs. */
async function givesUpWithin(primary: { ended?: Promise<void> }, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([primary.ended!.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fast policy: the same rules as the real one, in ms a test can wait. */
const fast: RestartPolicy = {
  minDelay: 5,
  maxDelay: 40,
  resetAfter: 1000,
  burst: 3,
  interval: 200,
};

/**
 * Worker 2 serves, then crashes with code 7; every later worker 2 exits with 7 at startup
 * after `startupMs`.
 */
function crashLoop(startupMs: number): Script {
  let started = 0;
  return async (worker) => {
    if (worker.marker.index !== 2) return await serves(worker);
    worker.report({ lifespanWorker: "ready" });
    if (started++ === 0) {
      await worker.listen();
      await new Promise((resolve) => setTimeout(resolve, 10));
    } else {
      await new Promise((resolve) => setTimeout(resolve, startupMs));
    }
    worker.exit(7);
  };
}

/** The delays the primary logged before each restart, in order. */
function restartDelays(log: { lines: string[] }): number[] {
  return log.lines.flatMap((line) => {
    const delay = /restarting it in (\d+) ms$/.exec(line)?.[1];
    return delay === undefined ? [] : [Number(delay)];
  });
}

describe("primaryService() restarting a worker", () => {
  test("the real policy: 100 ms doubling up to 10 s, reset after 10 s served, 5 restarts in 10 s", () => {
    // As the README states it; the rules themselves are tested below with faster numbers.
    assert.deepEqual(RESTART_POLICY, {
      minDelay: 100,
      maxDelay: 10_000,
      resetAfter: 10_000,
      burst: 5,
      interval: 10_000,
    });
  });

  test("the delay doubles at each restart up to maxDelay, and stays there", async () => {
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(kernel, crashLoop(1));
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, {
      ...fast,
      maxDelay: 20,
      burst: 6,
      interval: 10_000,
    });
    await primary.start(new AbortController().signal);
    assert.ok(await givesUpWithin(primary, 5000), "restarted on and on");
    await primary.stop("test");
    assert.deepEqual(restartDelays(log), [5, 10, 20, 20, 20, 20]);
  });

  test("a worker that served resetAfter before dying starts its back-off over", async () => {
    // Worker 2: two processes die right after listening (back-off 5, then 10 ms), the third
    // serves 300 ms, past resetAfter (150 ms), then dies: 5 ms again, not 20. The fourth serves.
    let started = 0;
    let fourth!: () => void;
    const serving = new Promise<void>((resolve) => fourth = resolve);
    const script: Script = async (worker) => {
      if (worker.marker.index !== 2) return await serves(worker);
      const run = started++;
      worker.report({ lifespanWorker: "ready" });
      await worker.listen();
      if (run === 3) {
        fourth();
        await worker.stopRequested();
        worker.report({ lifespanWorker: "stopped", succeeded: true });
        return worker.exit(0);
      }
      if (run === 2) await new Promise((resolve) => setTimeout(resolve, 300));
      worker.exit(7);
    };
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(kernel, script);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, {
      ...fast,
      resetAfter: 150,
      burst: 10,
      interval: 10_000,
    });
    await primary.start(new AbortController().signal);
    await serving;
    assert.equal((await primary.stop("test")).error, undefined);
    assert.deepEqual(restartDelays(log), [5, 10, 5]);
  });

  test("more than `burst` restarts within the interval: given up with its exit code", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel, crashLoop(1));
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, fast);
    await primary.start(new AbortController().signal);
    const gaveUp = await givesUpWithin(primary, 5000);
    const { error } = await primary.stop("test");
    assert.ok(gaveUp);

    // Worker 2's first process and its 3 restarts; the 4th exit gives up.
    assert.equal(workers.filter((worker) => worker.marker.index === 2).length, 4);
    assert.match(
      String(error),
      /Worker 2 of 2 \(pid \d+\) exited with code 7 at startup, its 4th exit within 200 ms of run time: giving up after 3 restarts/,
    );
    assert.equal(exitCodes.get(error as object), 7);
    assert.deepEqual(
      log.lines.filter((line) => line.includes("restarting")).map((line) =>
        /in (\d+) ms/.exec(line)![1]
      ),
      ["5", "10", "20"],
    );
    // Worker 1 was asked to stop, over its channel, and released once it said it had.
    assert.deepEqual(workers[0]!.orders, [{ lifespanPrimary: "stop" }, {
      lifespanPrimary: "released",
    }]);
  });

  /** Worker 2 serves, then exits 0 by itself, as on its own copy of a CTRL + C; then serves. */
  function exitsCleanlyOnce(exited: () => void): Script {
    let started = 0;
    return async (worker) => {
      if (worker.marker.index !== 2 || started++ > 0) return await serves(worker);
      worker.report({ lifespanWorker: "ready" });
      await worker.listen();
      worker.report({ lifespanWorker: "stopped", succeeded: true });
      worker.exit(0);
      setTimeout(exited, 5); // its close event has come by then
    };
  }

  test("a worker's clean exit followed by the stop within the echo window: no restart, none logged", async () => {
    let exited!: () => void;
    const gone = new Promise<void>((resolve) => exited = resolve);
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel, exitsCleanlyOnce(exited));
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, fast);
    await primary.start(new AbortController().signal);
    await gone;
    // This process's own copy of the CTRL + C, well within SIGNAL_ECHO_MS of the worker's exit.
    assert.equal((await primary.stop("test")).error, undefined);
    assert.deepEqual(log.lines.filter((line) => /restart/.test(line)), []);
    assert.equal(workers.length, 2, "a worker was started after the stop began");
  });

  test("a worker's clean exit with no stop after it: restarted once the echo window has passed", async () => {
    let exited!: () => void;
    const gone = new Promise<void>((resolve) => exited = resolve);
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel, exitsCleanlyOnce(exited));
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, fast);
    await primary.start(new AbortController().signal);
    await gone;
    let check: ReturnType<typeof setInterval> | undefined;
    const restarted = new Promise<void>((resolve) => {
      check = setInterval(() => {
        if (log.lines.some((line) => /restarted and listening/.test(line))) resolve();
      }, 5);
    });
    try {
      assert.ok(await givesUpWithin({ ended: restarted }, 5000), "never restarted");
    } finally {
      clearInterval(check);
      if (workers.length === 2) await primary.stop("test");
    }
    assert.equal(workers.length, 3);
    assert.deepEqual(restartDelays(log), [5]);
    assert.match(log.lines.join("\n"), /exited with code 0 while serving: restarting it in 5 ms/);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("the back-off delays between restarts do not count in the interval", {
    timeout: 10_000,
  }, async () => {
    // Each process runs 20 ms; the delays (30, 60, 120 ms) stretch 4 exits over more than the
    // 150 ms interval of wall time, and never fit 4 in it: they are given up all the same.
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel, crashLoop(20));
    const primary = primaryService(runtime, settings(0), 2, memoryLogger(), {
      ...fast,
      minDelay: 30,
      maxDelay: 120,
      interval: 150,
    });
    const began = Date.now();
    await primary.start(new AbortController().signal);
    const gaveUp = await givesUpWithin(primary, 5000);
    const { error } = await primary.stop("test");
    assert.ok(gaveUp, "restarted on and on");
    assert.ok(Date.now() - began > 210, "the exits spanned the delays");
    assert.match(String(error), /giving up after 3 restarts/);
    assert.equal(workers.length, 5);
  });
});

/** Fails its startup as a bad deploy does, naming the hook. */
const failsStartup: Script = async (worker) => {
  worker.report({ lifespanWorker: "ready" });
  await new Promise((resolve) => setTimeout(resolve, 5));
  worker.report({
    lifespanWorker: "failed",
    message: "beforeServing hook connectDatabase threw: database is down",
    hook: "connectDatabase",
  });
  worker.exit(1);
};

describe("primaryService() reloading", () => {
  test("each new worker listens on the port before the one it replaces is told to retire", async () => {
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    const { port } = await primary.start(new AbortController().signal);
    kernel.timeline.splice(0);
    await primary.reload!();
    assert.deepEqual(kernel.timeline, [
      "worker 102 starts as 1",
      `worker 102 binds ${port}`,
      "worker 100 told retire",
      "worker 100 told released",
      `worker 100 closes ${port}`,
      "worker 100 exits 0",
      "worker 103 starts as 2",
      `worker 103 binds ${port}`,
      "worker 101 told retire",
      "worker 101 told released",
      `worker 101 closes ${port}`,
      "worker 101 exits 0",
    ]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a new worker failing its startup stops the reload; the old ones keep serving", async () => {
    const deploy = { broken: false };
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(
      kernel,
      (worker) => (deploy.broken ? failsStartup : serves)(worker),
    );
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    await primary.start(new AbortController().signal);
    kernel.timeline.splice(0);
    deploy.broken = true;
    const message = "Reload stopped: the new Worker 1 of 2 (pid 102) failed at startup: " +
      "beforeServing hook connectDatabase threw: database is down. The workers it would have " +
      "replaced keep serving";
    await assert.rejects(primary.reload!(), {
      name: "StartupError",
      hook: "connectDatabase",
      message,
    });
    assert.ok(log.lines.includes(`error: ${message}`), log.lines.join("\n"));
    // No old worker was told anything; nothing was restarted.
    assert.deepEqual(kernel.timeline, ["worker 102 starts as 1", "worker 102 exits 1"]);
    assert.ok(!log.lines.some((line) => line.includes("restarting")), log.lines.join("\n"));
    // The next deploy is a good one.
    deploy.broken = false;
    await primary.reload!();
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("replacements are no restarts: a place's restart history starts over with them", async () => {
    // Worker 2 crashes 3 times (the burst) once listening; its place is reloaded; then its
    // new worker crashes once: a 4th restart within the interval unless the reload reset it.
    let crashes = 3;
    let settled!: () => void;
    const serving = new Promise<void>((resolve) => settled = resolve);
    const script: Script = async (worker) => {
      if (worker.marker.index !== 2) return await serves(worker);
      worker.report({ lifespanWorker: "ready" });
      await worker.listen();
      if (crashes-- > 0) return worker.exit(7);
      if (crashes === -1) settled();
      await worker.stopRequested();
      worker.report({ lifespanWorker: "stopped", succeeded: true });
      worker.exit(0);
    };
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(kernel, script);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log, fast);
    let ended = false;
    void primary.ended!.then(() => ended = true);
    await primary.start(new AbortController().signal);
    await serving;
    for (let i = 0; i < 4; i++) await primary.reload!();
    crashes = 1;
    await primary.reload!();
    const restarting = log.lines.filter((line) => line.includes("restarting it in"));
    assert.equal(restarting.length, 4, log.lines.join("\n"));
    assert.match(restarting.at(-1)!, /restarting it in 5 ms$/);
    await givesUpWithin(primary, 100);
    assert.equal(ended, false);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a stop during a reload wins: the reload rejects, and every worker stops", async () => {
    let started!: () => void;
    const replacementStarted = new Promise<void>((resolve) => started = resolve);
    const script: Script = async (worker) => {
      if (worker.pid < 102) return await serves(worker);
      // A new worker still in its startup when the stop comes: it never listens.
      worker.report({ lifespanWorker: "ready" });
      started();
      await worker.stopRequested();
      worker.exit(1);
    };
    const kernel = new Kernel();
    const { runtime } = fakeRuntime(kernel, script);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    await primary.start(new AbortController().signal);
    const reloading = assert.rejects(primary.reload!(), {
      message: "Reload interrupted: the server is stopping",
    });
    await replacementStarted;
    assert.equal((await primary.stop("test")).error, undefined);
    await reloading;
    const exits = kernel.timeline.filter((event) => / exits /.test(event)).toSorted();
    assert.deepEqual(exits, ["worker 100 exits 0", "worker 101 exits 0", "worker 102 exits 1"]);
    await assert.rejects(primary.reload!(), { message: "Cannot reload: the workers are stopping" });
  });

  test("a reload asked for during one is queued once; later requests join the queued one", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    const starting = primary.start(new AbortController().signal);
    await assert.rejects(primary.reload!(), {
      message: "Cannot reload: the workers are still starting",
    });
    await starting;
    const first = primary.reload!();
    const second = primary.reload!();
    const third = primary.reload!();
    assert.notEqual(first, second);
    assert.equal(second, third);
    await Promise.all([first, second]);
    // 2 workers, replaced twice.
    assert.equal(workers.length, 6);
    assert.equal((await primary.stop("test")).error, undefined);
  });
});

/** The worker's report that it has answered its `maxRequests`. */
const answered = (requests: number): Report => ({ lifespanWorker: "maxRequests", requests });

/** Resolves once `events` has an event matching `match`: polled, as the fakes run on timers. */
async function until(events: readonly string[], match: RegExp): Promise<void> {
  for (let i = 0; i < 1000 && !events.some((event) => match.test(event)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.ok(events.some((event) => match.test(event)), `no ${match} in:\n${events.join("\n")}`);
}

describe("primaryService() replacing a worker that answered its maxRequests", () => {
  test("it is replaced as a reload replaces it: the new worker listens before the old retires", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    const { port } = await primary.start(new AbortController().signal);
    kernel.timeline.splice(0);
    workers[1]!.report(answered(200));
    await until(kernel.timeline, /^worker 101 exits/);
    assert.deepEqual(kernel.timeline, [
      "worker 102 starts as 2",
      `worker 102 binds ${port}`,
      "worker 101 told retire",
      "worker 101 told released",
      `worker 101 closes ${port}`,
      "worker 101 exits 0",
    ]);
    assert.ok(
      log.lines.includes("info: Worker 2 of 2 (pid 101) answered 200 requests: replacing it"),
      log.lines.join("\n"),
    );
    // No restart, no error, no warning: a planned replacement.
    assert.deepEqual(log.lines.filter((line) => !line.startsWith("info: ")), []);
    assert.ok(!log.lines.some((line) => /restart/.test(line)), log.lines.join("\n"));
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("with one worker (workers left at 1), that worker is replaced with no gap", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 1, memoryLogger());
    const { port } = await primary.start(new AbortController().signal);
    kernel.timeline.splice(0);
    workers[0]!.report(answered(10));
    await until(kernel.timeline, /^worker 100 exits/);
    assert.deepEqual(kernel.timeline.filter((event) => / (binds|closes) /.test(event)), [
      `worker 101 binds ${port}`,
      `worker 100 closes ${port}`,
    ]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("two workers at their limit at once are replaced one at a time", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const primary = primaryService(runtime, settings(0), 2, memoryLogger());
    await primary.start(new AbortController().signal);
    kernel.timeline.splice(0);
    workers[0]!.report(answered(200));
    workers[1]!.report(answered(203));
    await until(kernel.timeline, /^worker 101 exits/);
    const steps = kernel.timeline.filter((event) => / (starts as|exits) /.test(event));
    assert.deepEqual(steps, [
      "worker 102 starts as 1",
      "worker 100 exits 0",
      "worker 103 starts as 2",
      "worker 101 exits 0",
    ]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("it asks once: a worker's later reports, and a retiring worker's, replace nothing more", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    await primary.start(new AbortController().signal);
    workers[0]!.report(answered(200));
    workers[0]!.report(answered(200));
    await until(kernel.timeline, /^worker 100 told retire/);
    workers[0]!.report(answered(200)); // while it drains
    await until(kernel.timeline, /^worker 100 exits/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(workers.length, 3);
    assert.equal(log.lines.filter((line) => line.includes("replacing it")).length, 1);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a stop wins: a replacement still starting is stopped, and none begins after the stop", async () => {
    let started!: () => void;
    const replacementStarted = new Promise<void>((resolve) => started = resolve);
    const script: Script = async (worker) => {
      if (worker.pid < 102) return await serves(worker);
      // The new worker is still in its startup when the stop comes: it never listens.
      worker.report({ lifespanWorker: "ready" });
      started();
      await worker.stopRequested();
      worker.exit(1);
    };
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel, script);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    await primary.start(new AbortController().signal);
    workers[0]!.report(answered(200));
    workers[1]!.report(answered(200)); // queued behind the first
    await until(log.lines, /\(pid 101\) answered 200 requests: replacing it$/);
    await replacementStarted;
    const stopping = primary.stop("test");
    workers[1]!.report(answered(201)); // during the stop
    assert.equal((await stopping).error, undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Only the first replacement was started, and it was stopped before it listened.
    assert.deepEqual(workers.map((worker) => worker.pid), [100, 101, 102]);
    assert.deepEqual(workers[0]!.orders, [{ lifespanPrimary: "stop" }, {
      lifespanPrimary: "released",
    }]);
    assert.ok(
      log.lines.includes("info: Worker 1 of 2 (pid 100) is not replaced: the server is stopping"),
      log.lines.join("\n"),
    );
    assert.deepEqual(log.lines.filter((line) => line.startsWith("error: ")), []);
  });

  test("replacements are no restarts: more of them than the restart limit allows, and no give-up", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const log = memoryLogger();
    // fast: more than 3 restarts within 200 ms gives up; here 5 replacements of one place.
    const primary = primaryService(runtime, settings(0), 2, log, fast);
    let ended = false;
    void primary.ended!.then(() => ended = true);
    await primary.start(new AbortController().signal);
    for (let round = 0; round < 5; round++) {
      const current = workers.filter((worker) => worker.marker.index === 2).at(-1)!;
      current.report(answered(200));
      await until(kernel.timeline, new RegExp(`^worker ${current.pid} exits 0`));
    }
    await givesUpWithin(primary, 50);
    assert.equal(ended, false);
    assert.equal(workers.filter((worker) => worker.marker.index === 2).length, 6);
    assert.ok(!log.lines.some((line) => /restart/.test(line)), log.lines.join("\n"));
    // A crash afterwards is its place's first: restarted after the shortest back-off.
    const last = workers.at(-1)!;
    last.exit(7);
    await until(log.lines, /restarting it in/);
    assert.deepEqual(restartDelays(log), [fast.minDelay]);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a reload in progress covers a worker that reaches its limit before its place is replaced", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(kernel);
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    await primary.start(new AbortController().signal);
    const reloading = primary.reload!();
    workers[1]!.report(answered(200)); // its place is the reload's second
    await reloading;
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The reload's two new workers, and none for the limit.
    assert.deepEqual(workers.map((worker) => worker.marker.index), [1, 2, 1, 2]);
    assert.equal(log.lines.filter((line) => line.includes("replacing it")).length, 1);
    assert.equal((await primary.stop("test")).error, undefined);
  });

  test("a new worker failing its startup: the old one keeps serving, and the error names the hook", async () => {
    const kernel = new Kernel();
    const { runtime, workers } = fakeRuntime(
      kernel,
      (worker) => (worker.pid >= 102 ? failsStartup : serves)(worker),
    );
    const log = memoryLogger();
    const primary = primaryService(runtime, settings(0), 2, log);
    await primary.start(new AbortController().signal);
    workers[0]!.report(answered(200));
    await until(log.lines, /^error: /);
    assert.deepEqual(log.lines.filter((line) => line.startsWith("error: ")), [
      "error: Worker 1 of 2 (pid 100) is not replaced: the new Worker 1 of 2 (pid 102) failed " +
      "at startup: beforeServing hook connectDatabase threw: database is down. It keeps serving",
    ]);
    assert.deepEqual(workers[0]!.orders, []);
    assert.ok(!log.lines.some((line) => /restart/.test(line)), log.lines.join("\n"));
    assert.equal((await primary.stop("test")).error, undefined);
  });
});
