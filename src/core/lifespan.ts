/**
 * `Lifespan`: the state of one app's lifecycle (its hooks, phase, signal, background tasks and
 * mounted sub-apps), and the one place that moves it from idle to serving and back. `App`
 * keeps one; servers and the test harness reach it with `lifespanOf(app)`.
 *
 * @module
 */
import { peekContext, runInContext } from "./context.ts";
import { ShutdownError } from "./errors.ts";
import { type HookTiming, roundMs, tracePhase } from "./events.ts";
import { type Logger, messageOf } from "./log.ts";
import {
  type Hook,
  type Hooks,
  runShutdown,
  runStartup,
  type ServingGenerator,
  summarize,
  type Teardown,
} from "./phases.ts";
import { withTimeout } from "./timers.ts";

/** A background task: runs until it finishes or `signal` asks it to stop. */
export type BackgroundTask = (signal: AbortSignal) => unknown;

/** Where a lifespan is: `stopping` from the moment shutdown begins until it has finished. */
export type Phase = "idle" | "starting" | "serving" | "stopping";

/** How a shutdown went. */
export interface ShutdownReport {
  /** A teardown step or background task ran past its timeout and may still hold resources. */
  readonly leftRunning: boolean;
  /** Every teardown error, when there were some. */
  readonly error?: ShutdownError;
  /** How long it took, background tasks and teardown steps, in milliseconds (to a tenth). */
  readonly durationMs: number;
}

/** The level a phase's summary line (`Started in 184 ms (connectDb 150 ms)`) is logged at. */
export type SummaryLevel = "info" | "debug";

const lifespans = new WeakMap<object, Lifespan>();

/** The lifespan of `app`, or undefined when it has none (a plain Hono app). */
export function lifespanOf(app: unknown): Lifespan | undefined {
  return typeof app === "object" && app !== null ? lifespans.get(app) : undefined;
}

/** Answers one request: the app's own `fetch`, in a context of its own. */
export type RequestHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

/** The lifecycle of one app. See the module doc. */
export class Lifespan {
  /** The app this is the lifespan of: what `currentApp()` returns in its hooks. */
  readonly owner: object;
  /** Where the lines about this lifespan go unless a server was given a logger of its own. */
  readonly #ownLog: Logger;
  /** The logger of the server serving the app, given `serve(app, { logger })`. */
  #serverLog: Logger | undefined;
  /**
   * The app's own handler, which a server of this library calls from a request callback of the
   * runtime's own (`app.fetch` may wrap it): on Node 24 and later it leaves the request's
   * context entered, for Node to put back (see `requestEntry`).
   */
  handler: RequestHandler | undefined;
  /** True while a server of this library serves the app. */
  managed = false;
  readonly #hooks: Hooks = { before: [], while: [], after: [] };
  readonly #mounted: Lifespan[] = [];
  /** Each background task still running, with its name for the warning if abandoned. */
  readonly #tasks = new Map<Promise<void>, string>();
  readonly #taskTimeout: number;
  #phase: Phase = "idle";
  #stack: Teardown[] = [];
  /**
   * The controller of the current serving period. Before the first startup it is already the
   * first period's: a signal taken at import (by a task added at module level) is the one the
   * first shutdown aborts. Once a period has ended (shutdown finished, or startup failed) it
   * stays aborted, so a loop that outlives the shutdown sees it stopped; the next startup
   * replaces it with a fresh one as it begins.
   */
  #controller = new AbortController();
  #stopping: Promise<ShutdownReport> | undefined;

  constructor(owner: object, options: { taskTimeout: number; log: Logger }) {
    this.owner = owner;
    this.#ownLog = options.log;
    this.#taskTimeout = options.taskTimeout;
    lifespans.set(owner, this);
  }

  /** Where every line about this lifespan goes: the server's logger if it has one, else its own. */
  get log(): Logger {
    return this.#serverLog ?? this.#ownLog;
  }

  /**
   * Sends this lifespan's lines (and those of the apps mounted in it) to `log` until called
   * with undefined: a server given a logger of its own (`serve(app, { logger })`) serves it.
   */
  useServerLogger(log: Logger | undefined): void {
    for (const lifespan of this.#tree()) lifespan.#serverLog = log;
  }

  /** Where the lifespan is now. */
  get phase(): Phase {
    return this.#phase;
  }

  /**
   * Aborted when shutdown begins and until the next startup begins; before the first startup,
   * the first period's signal.
   */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Registers a `beforeServing` hook. */
  addBefore(hook: Hook): void {
    this.#hooks.before.push(hook);
  }

  /** Registers a `whileServing` generator function. */
  addWhile(generatorFunction: ServingGenerator): void {
    this.#hooks.while.push(generatorFunction);
  }

  /** Registers an `afterServing` hook. */
  addAfter(hook: Hook): void {
    this.#hooks.after.push(hook);
  }

  /**
   * Makes `child` part of this lifespan: it starts after this one and stops before it. A child
   * reached twice (mounted at two paths, or through two parents) still runs once.
   *
   * @throws {TypeError} When `child` contains this lifespan: a mount cycle.
   */
  mount(child: Lifespan, path: string): void {
    if (child.#tree().includes(this)) {
      throw new TypeError(
        `Cannot mount an app at ${JSON.stringify(path)}: it would contain itself (a mount cycle)`,
      );
    }
    this.#mounted.push(child);
  }

  /** Runs `task` in the background; see `App.addBackgroundTask`. */
  addTask(task: BackgroundTask): void {
    const app = peekContext()?.app ?? this.owner;
    const signal = this.signal;
    const name = task.name || "(anonymous)";
    const done: Promise<void> = runInContext(app, async () => {
      await null; // start after the caller continues, as a task should
      try {
        await task(signal);
      } catch (error) {
        this.log.error(`Background task ${name} failed: ${messageOf(error)}`, {
          task: name,
          err: error,
        });
      }
    }).finally(() => this.#tasks.delete(done));
    this.#tasks.set(done, name);
  }

  /**
   * Runs the startup phase of this lifespan and every mounted one, in one app context. Each
   * hook's duration is logged at `debug`, the summary (`Started in 184 ms (connectDb 150 ms)`)
   * at `summary`: `info` for a server, `debug` for a test or a direct call.
   *
   * @throws {StartupError} When a hook fails or `timeout` passes; started generators are closed.
   * @throws {Error} When it is not idle.
   */
  async startup(timeout: number, summary: SummaryLevel = "debug"): Promise<void> {
    if (this.#phase !== "idle") {
      throw new Error(
        `Cannot start app: it is already ${this.#phase === "starting" ? "starting" : "started"}`,
      );
    }
    this.#phase = "starting";
    const tree = this.#tree();
    Lifespan.#beginPeriod(tree);
    const started = performance.now();
    let timings: HookTiming[] = [];
    try {
      const ran = await runInContext(
        this.owner,
        () =>
          tracePhase(this.owner, "startup", () => timings, async () => {
            const ran = await runStartup(
              tree.map((lifespan) => lifespan.#hooks),
              timeout,
              this.log,
              this.owner,
            );
            timings = ran.timings;
            return ran;
          }),
      );
      this.#stack = ran.stack;
      this.#phase = "serving";
      const durationMs = roundMs(performance.now() - started);
      this.log[summary](summarize("Started", durationMs, timings), {
        phase: "startup",
        durationMs,
        hooks: timings,
      });
    } catch (error) {
      Lifespan.#endPeriod(tree);
      this.#phase = "idle";
      throw error;
    }
  }

  /**
   * Marks the start of shutdown: aborts `signal` (streams and loops end themselves) while a
   * server drains. `shutdown()` does it too; servers call it first.
   */
  beginShutdown(): void {
    if (this.#phase !== "serving") return;
    this.#phase = "stopping";
    for (const lifespan of this.#tree()) lifespan.#controller.abort();
  }

  /**
   * Runs the shutdown phase (once, however often it is called while it runs). Teardown errors
   * are in the report, not thrown.
   *
   * @throws {Error} When it is not started.
   */
  shutdown(timeout: number): Promise<ShutdownReport> {
    if (this.#phase === "idle" || this.#phase === "starting") {
      return Promise.reject(
        new Error(
          `Cannot shut down app: it is ${
            this.#phase === "idle" ? "not started" : "still starting"
          }`,
        ),
      );
    }
    return this.#stopping ??= this.#shutdown(timeout).finally(() => {
      this.#stopping = undefined;
    });
  }

  async #shutdown(timeout: number): Promise<ShutdownReport> {
    this.beginShutdown();
    const tree = this.#tree();
    const started = performance.now();
    let timings: HookTiming[] = [];
    const { failures, tasksAbandoned } = await runInContext(
      this.owner,
      () =>
        tracePhase(this.owner, "shutdown", () => timings, async () => {
          const tasksAbandoned = await this.#waitForTasks(tree);
          const failures = await runShutdown(this.#stack, timeout, this.log, this.owner);
          timings = failures.timings;
          return { failures, tasksAbandoned };
        }),
    );
    this.#stack = [];
    Lifespan.#endPeriod(tree);
    this.#phase = "idle";
    const durationMs = roundMs(performance.now() - started);
    // A server says how its whole stop went; this is the part of it the hooks took.
    this.log.debug(summarize("Shutdown hooks ran", durationMs, timings), {
      phase: "shutdown",
      durationMs,
      hooks: timings,
    });
    const leftRunning = tasksAbandoned || failures.timedOut;
    if (failures.errors.length === 0) return { leftRunning, durationMs };
    const message = `Shutdown failed: ${failures.lines.join("; ")}`;
    return { leftRunning, durationMs, error: new ShutdownError(message, failures.errors) };
  }

  /** Begins a serving period: a signal an earlier period aborted is replaced by a fresh one. */
  static #beginPeriod(tree: readonly Lifespan[]): void {
    for (const lifespan of tree) {
      if (lifespan.#controller.signal.aborted) lifespan.#controller = new AbortController();
    }
  }

  /** Ends a serving period: its signal is aborted (if not yet) and stays so until the next. */
  static #endPeriod(tree: readonly Lifespan[]): void {
    for (const lifespan of tree) lifespan.#controller.abort();
  }

  /** Waits for the background tasks; true if some were abandoned past the timeout. */
  async #waitForTasks(tree: readonly Lifespan[]): Promise<boolean> {
    const pending = () => tree.flatMap((lifespan) => [...lifespan.#tasks.keys()]);
    const deadline = Date.now() + this.#taskTimeout;
    // Tasks may add tasks while shutdown waits: wait until none is left, or the deadline.
    for (let tasks = pending(); tasks.length > 0; tasks = pending()) {
      const remaining = deadline - Date.now();
      try {
        await withTimeout(Promise.all(tasks), Math.max(remaining, 0), () => "timeout");
      } catch {
        // Named, so that the task to fix can be found; those that did finish are gone.
        const names = tree.flatMap((lifespan) => [...lifespan.#tasks.values()]);
        this.log.warn(
          `${tasks.length} background task(s) did not finish within ${this.#taskTimeout} ms of shutdown and were abandoned: ${
            names.join(", ")
          }`,
          { tasks: names, timeoutMs: this.#taskTimeout },
        );
        for (const lifespan of tree) lifespan.#tasks.clear();
        return true;
      }
    }
    return false;
  }

  /**
   * This lifespan and every one mounted in it, parents before children, each once: an app
   * mounted at two paths (or reached through two parents) joins the lifespan once.
   */
  #tree(): Lifespan[] {
    const tree = new Set<Lifespan>();
    const visit = (lifespan: Lifespan) => {
      if (tree.has(lifespan)) return;
      tree.add(lifespan);
      lifespan.#mounted.forEach(visit);
    };
    visit(this);
    return [...tree];
  }
}
