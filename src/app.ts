/**
 * `App`: a Hono app with a lifespan.
 *
 * @module
 */
import { Hono } from "hono";
import type { HonoOptions } from "hono/hono-base";
import type { BlankSchema, MergePath, MergeSchemaPath, Schema } from "hono/types";
import type { ServeOptions } from "./adapters/types.ts";
import { peekContext, runInContext, runRequest } from "./context.ts";
import { ShutdownError } from "./errors.ts";
import {
  type Hook,
  type Hooks,
  runShutdown,
  runStartup,
  type ServingGenerator,
  type Teardown,
} from "./lifespan.ts";
import { withTimeout } from "./timers.ts";
import { checkDuration, checkFunction, checkKnownOptions, describeValue } from "./options.ts";
import { TestApp, type TestAppOptions, TestClient, type TestClientOptions } from "./testing.ts";

/** Hono's `Env` (`Bindings`, `Variables`), plus the type of `app.state`. */
export interface LifespanEnv {
  /** The runtime's bindings, as in Hono's `Env`. */
  Bindings?: object;
  /** The types of `c.get()` / `c.set()`, as in Hono's `Env`. */
  Variables?: object;
  /** The resources an app keeps from startup to shutdown, as `app.state`. */
  State?: object;
}

/** The type of `app.state` for an env `E`. */
export type AppState<E extends LifespanEnv> = E extends { State: infer S extends object } ? S
  : Record<string, unknown>;

/** Options of `new App()`: Hono's, plus the lifespan's. */
export type AppOptions<E extends LifespanEnv> = HonoOptions<E> & {
  /**
   * How long shutdown waits for background tasks, in milliseconds, before it abandons them.
   * @default {5000}
   */
  backgroundTaskTimeout?: number;
};

/** Options of `startup()` and `shutdown()`. */
export interface PhaseOptions {
  /**
   * Milliseconds the startup phase, or each teardown step of the shutdown phase, may take.
   * @default {Infinity}
   */
  timeout?: number;
}

/** A background task: runs until it finishes or `signal` asks it to stop. */
export type BackgroundTask = (signal: AbortSignal) => unknown;

type Phase = "idle" | "starting" | "serving" | "stopping";

const APP_OPTIONS = ["router", "strict", "getPath", "backgroundTaskTimeout"];

let beginShutdownOf: (app: App) => void;
let leftWorkRunningOf: (app: App) => boolean;

/**
 * Marks the start of shutdown: aborts `app.signal` (streams and loops end themselves) while
 * the server drains. `app.shutdown()` does it too; adapters call it first. Internal.
 */
export function beginShutdown(app: App): void {
  beginShutdownOf(app);
}

/**
 * Whether the last shutdown left work running: a teardown step past its timeout, or background
 * tasks past theirs. They may hold timers or sockets for as long as they like, so `run()` ends
 * the process itself then. Internal.
 */
export function leftWorkRunning(app: App): boolean {
  return leftWorkRunningOf(app);
}

/**
 * A Hono app with a lifespan: hooks that run once before the server accepts a connection and
 * once after it has drained, resources kept on `state` in between, background tasks, and an
 * app context (`currentApp()`, `g`). Every Hono API works on it.
 *
 * @typeParam E Hono's env, plus `State`: the type of `app.state`.
 *
 * @example Open a resource at startup, close it at shutdown
 * ```ts
 * import { App } from "@lifespan/hono";
 *
 * const app = new App<{ State: { visits: Map<string, number> } }>();
 * app.whileServing(function* visits() {
 *   app.state.visits = new Map();
 *   yield; // the app serves here
 *   app.state.visits.clear();
 * });
 * app.get("/", (c) => c.json(app.state.visits.size));
 *
 * await app.startup();
 * const response = await app.request("/");
 * await app.shutdown();
 * ```
 */
export class App<
  E extends LifespanEnv = LifespanEnv,
  S extends Schema = BlankSchema,
  BasePath extends string = "/",
> extends Hono<E, S, BasePath> {
  /** Resources kept from startup to shutdown, typed by `E["State"]`. */
  state: AppState<E> = {} as AppState<E>;

  readonly #hooks: Hooks = { before: [], while: [], after: [] };
  readonly #subApps: App[] = [];
  /** Each background task still running, with its name for the warning if abandoned. */
  readonly #tasks = new Map<Promise<void>, string>();
  readonly #taskTimeout: number;
  #phase: Phase = "idle";
  #stack: Teardown[] = [];
  /**
   * The controller of the current serving period or, when idle, of the next one: a signal
   * taken before startup (at import, by a task added at module level) is the one shutdown
   * aborts. Replaced once a period ends (shutdown finished, or startup failed).
   */
  #controller = new AbortController();
  #stopping: Promise<void> | undefined;
  #leftWorkRunning = false;

  static {
    beginShutdownOf = (app) => app.#beginShutdown();
    leftWorkRunningOf = (app) => app.#leftWorkRunning;
  }

  /** Creates an app; takes Hono's options and `backgroundTaskTimeout`. */
  constructor(options: AppOptions<E> = {}) {
    checkKnownOptions("App", options, APP_OPTIONS);
    const { backgroundTaskTimeout = 5000, ...honoOptions } = options;
    super(honoOptions as HonoOptions<E>);
    this.#taskTimeout = checkDuration("backgroundTaskTimeout", backgroundTaskTimeout);
    // Hono's fetch is an instance property: wrap it so each request has its own context.
    const honoFetch = this.fetch;
    const self = this as unknown as App;
    this.fetch = (request, env, executionCtx) =>
      runRequest(self, honoFetch, request, env, executionCtx);
  }

  /**
   * Aborted when shutdown begins, so long responses and loops can end themselves. Read while
   * idle, it is the signal of the next serving period: taken at import, it still aborts when
   * the first shutdown begins. After a shutdown (or a failed startup) a fresh one takes its
   * place.
   */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Registers a hook that runs once at startup, before the server accepts a connection, after
   * the hooks registered before it. Sync or async.
   */
  beforeServing(hook: Hook): this {
    this.#hooks.before.push(checkFunction("beforeServing()", hook));
    return this;
  }

  /**
   * Registers a hook that runs once at shutdown, after the server has drained, before the
   * hooks registered before it (last in, first out). Sync or async.
   */
  afterServing(hook: Hook): this {
    this.#hooks.after.push(checkFunction("afterServing()", hook));
    return this;
  }

  /**
   * Registers a generator function (sync or async) called at every startup: the code before
   * its single `yield` runs at startup, the code after it at shutdown.
   */
  whileServing(generatorFunction: ServingGenerator): this {
    checkFunction("whileServing()", generatorFunction);
    const tag = Object.prototype.toString.call(generatorFunction);
    if (tag === "[object AsyncFunction]") {
      throw new TypeError(
        `whileServing() expects a generator function (function* or async function*), got async ${
          describeValue(generatorFunction)
        }`,
      );
    }
    this.#hooks.while.push(generatorFunction);
    return this;
  }

  /**
   * Runs `task` in the background, in a context of its own. Its errors are logged; shutdown
   * aborts `signal` and waits for it (also for tasks added during shutdown) up to
   * `backgroundTaskTimeout`, then abandons it with a warning.
   */
  addBackgroundTask(task: BackgroundTask): void {
    checkFunction("addBackgroundTask()", task);
    const app = peekContext()?.app ?? (this as unknown as App);
    const signal = this.signal;
    const name = task.name || "(anonymous)";
    const done: Promise<void> = runInContext(app, async () => {
      await null; // start after the caller continues, as a task should
      try {
        await task(signal);
      } catch (error) {
        console.error(`Background task ${name} failed:`, error);
      }
    }).finally(() => this.#tasks.delete(done));
    this.#tasks.set(done, name);
  }

  /**
   * Mounts `subApp` under `path`, as Hono's `route()`. When `subApp` is an `App`, its lifespan
   * joins this one's: its startup runs after this app's, its teardown before.
   */
  override route<
    SubPath extends string,
    SubEnv extends LifespanEnv,
    SubSchema extends Schema,
    SubBasePath extends string,
  >(
    path: SubPath,
    subApp: Hono<SubEnv, SubSchema, SubBasePath>,
  ): Hono<E, MergeSchemaPath<SubSchema, MergePath<BasePath, SubPath>> | S, BasePath> {
    if (subApp instanceof App) {
      const self = this as unknown as App;
      if ((subApp as unknown as App).#apps().includes(self)) {
        throw new TypeError(
          `Cannot mount an app at ${JSON.stringify(path)}: it would contain itself (a mount cycle)`,
        );
      }
      this.#subApps.push(subApp);
    }
    return super.route(path, subApp);
  }

  /**
   * Runs the startup phase: `beforeServing` hooks, then each `whileServing` generator up to its
   * `yield`, then those of mounted sub-apps. Adapters call it before binding a socket.
   *
   * @throws {StartupError} When a hook fails or `timeout` passes; started generators are closed.
   * @throws {Error} When the app is already started.
   */
  async startup(options: PhaseOptions = {}): Promise<void> {
    checkKnownOptions("startup()", options, ["timeout"]);
    const timeout = checkDuration("timeout", options.timeout ?? Infinity);
    if (this.#phase !== "idle") {
      throw new Error(
        `Cannot start app: it is already ${this.#phase === "starting" ? "starting" : "started"}`,
      );
    }
    this.#phase = "starting";
    this.#leftWorkRunning = false;
    const apps = this.#apps();
    try {
      this.#stack = await runInContext(
        this as unknown as App,
        () => runStartup(apps.map((app) => app.#hooks), timeout),
      );
      this.#phase = "serving";
    } catch (error) {
      App.#endPeriod(apps);
      this.#phase = "idle";
      throw error;
    }
  }

  /**
   * Runs the shutdown phase, last in first out: aborts `signal`, waits for background tasks,
   * resumes the generators past their `yield`, then runs the `afterServing` hooks. Every step
   * runs even if an earlier one failed. Adapters call it after the server has drained.
   *
   * @throws {ShutdownError} Carrying every teardown error, after every step ran.
   * @throws {Error} When the app is not started.
   */
  shutdown(options: PhaseOptions = {}): Promise<void> {
    try {
      checkKnownOptions("shutdown()", options, ["timeout"]);
      const timeout = checkDuration("timeout", options.timeout ?? Infinity);
      if (this.#phase === "idle" || this.#phase === "starting") {
        throw new Error(
          `Cannot shut down app: it is ${
            this.#phase === "idle" ? "not started" : "still starting"
          }`,
        );
      }
      return this.#stopping ??= this.#shutdown(timeout).finally(() => {
        this.#stopping = undefined;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#beginShutdown();
    const failures = await runInContext(this as unknown as App, async () => {
      const tasksAbandoned = await this.#waitForTasks();
      const failures = await runShutdown(this.#stack, timeout);
      this.#leftWorkRunning = tasksAbandoned || failures.timedOut;
      return failures;
    });
    this.#stack = [];
    App.#endPeriod(this.#apps());
    this.#phase = "idle";
    if (failures.errors.length > 0) {
      throw new ShutdownError(`Shutdown failed: ${failures.lines.join("; ")}`, failures.errors);
    }
  }

  #beginShutdown(): void {
    if (this.#phase !== "serving") return;
    this.#phase = "stopping";
    for (const app of this.#apps()) app.#controller.abort();
  }

  /** Ends a serving period: its signal is aborted (if not yet), the next one gets a fresh one. */
  static #endPeriod(apps: readonly App[]): void {
    for (const app of apps) {
      app.#controller.abort();
      app.#controller = new AbortController();
    }
  }

  /** Waits for the background tasks; true if some were abandoned past the timeout. */
  async #waitForTasks(): Promise<boolean> {
    const apps = this.#apps();
    const pending = () => apps.flatMap((app) => [...app.#tasks.keys()]);
    const deadline = Date.now() + this.#taskTimeout;
    // Tasks may add tasks while shutdown waits: wait until none is left, or the deadline.
    for (let tasks = pending(); tasks.length > 0; tasks = pending()) {
      const remaining = deadline - Date.now();
      try {
        await withTimeout(Promise.all(tasks), Math.max(remaining, 0), () => "timeout");
      } catch {
        // Named, so that the task to fix can be found; those that did finish are gone.
        const names = apps.flatMap((app) => [...app.#tasks.values()]);
        console.warn(
          `${tasks.length} background task(s) did not finish within ${this.#taskTimeout} ms of shutdown and were abandoned: ${
            names.join(", ")
          }`,
        );
        for (const app of apps) app.#tasks.clear();
        return true;
      }
    }
    return false;
  }

  /**
   * This app and every `App` mounted in it, parents before children, each once: an app
   * mounted at two paths (or reached through two parents) joins the lifespan once.
   */
  #apps(): App[] {
    const apps = new Set<App>();
    const visit = (app: App) => {
      if (apps.has(app)) return;
      apps.add(app);
      app.#subApps.forEach(visit);
    };
    visit(this as unknown as App);
    return [...apps];
  }

  /**
   * A client that sends requests to the app in-process, without running its lifespan (as
   * Quart's test client). Use `testApp()` to run the lifespan around it.
   */
  testClient(options: TestClientOptions = {}): TestClient {
    return new TestClient(this as unknown as App, options);
  }

  /**
   * Runs startup and returns a `TestApp` whose `shutdown()` (or `await using`) runs shutdown.
   *
   * @throws {StartupError} When a hook fails or `startupTimeout` (6000 ms) passes.
   */
  async testApp(options: TestAppOptions = {}): Promise<TestApp> {
    return await TestApp.start(this as unknown as App, options);
  }

  /**
   * Serves the app for a person at a terminal: prints `Running on http://127.0.0.1:8000 (CTRL +
   * C to quit)` once the socket is bound, stops on SIGINT or SIGTERM, exits with code 1 and the
   * failing hook's name when startup fails, and resolves after shutdown.
   */
  async run(options: ServeOptions = {}): Promise<void> {
    const { run } = await import("../mod.ts");
    await run(this as unknown as App, options);
  }
}
