/**
 * `App`: a Hono app with a lifespan, and `currentApp()`. The one module that joins the parts:
 * the lifespan (`core/`), the test harness (`testing/`) and the server (`server/`).
 *
 * @module
 */
import { Hono } from "hono";
import type { HonoOptions } from "hono/hono-base";
import type { BlankSchema, ErrorHandler, MergePath, MergeSchemaPath, Schema } from "hono/types";
import { honoErrorHandler, mountInheritingErrors } from "./core/_hono_internals.ts";
import { contextApp, requestEntry, useAsyncFrames } from "./core/context.ts";
import { type BackgroundTask, Lifespan, lifespanOf } from "./core/lifespan.ts";
import { consoleLogger, type Logger, messageOf } from "./core/log.ts";
import {
  checkDuration,
  checkFunction,
  checkKnownOptions,
  checkLogger,
  describeValue,
} from "./core/options.ts";
import type { Hook, ServingGenerator } from "./core/phases.ts";
import {
  entryFields,
  servedByRuntime,
  type TakenOver,
  takeOver,
  watchEntry,
} from "./server/entry.ts";
import { runOn } from "./server/serve.ts";
import { detectRuntime, isNode, runtimeAsyncFrames } from "./server/runtime.ts";
import type { ServeOptions } from "./server/types.ts";
import { TestClient, type TestClientOptions } from "./testing/client.ts";
import { TestApp, type TestAppOptions } from "./testing/test_app.ts";

export type { BackgroundTask };

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
  /**
   * Where every line the library writes about this app goes: any object with console-shaped
   * `debug`, `info`, `warn` and `error` methods. Each gets the message, then structured fields
   * (a thrown value under `err`): a LogTape logger takes them as they are; a Pino logger takes
   * its fields first, so give it through four lines that swap them.
   * @default {console}
   */
  logger?: Logger;
};

/** Options of `startup()` and `shutdown()`. */
export interface PhaseOptions {
  /**
   * Milliseconds the startup phase, or each teardown step of the shutdown phase, may take.
   * @default {Infinity}
   */
  timeout?: number;
}

const APP_OPTIONS = ["router", "strict", "getPath", "backgroundTaskTimeout", "logger"];

// Before any app context is entered: contexts kept in the runtime's own frames where cheaper.
useAsyncFrames(runtimeAsyncFrames());

/** The error handlers `App`s start with: Hono's, with the app's logger in place of `console`. */
const defaultErrorHandlers = new WeakSet<ErrorHandler>();

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

  readonly #lifespan: Lifespan;
  /** Set once the runtime is found to serve the app by itself (see `server/entry.ts`). */
  #takenOver: TakenOver | undefined;

  /** Creates an app; takes Hono's options, `backgroundTaskTimeout` and `logger`. */
  constructor(options: AppOptions<E> = {}) {
    checkKnownOptions("App", options, APP_OPTIONS);
    const { backgroundTaskTimeout = 5000, logger = consoleLogger, ...honoOptions } = options;
    super(honoOptions as HonoOptions<E>);
    this.#lifespan = new Lifespan(this, {
      taskTimeout: checkDuration("backgroundTaskTimeout", backgroundTaskTimeout),
      log: checkLogger("logger", logger),
    });
    // What a handler throws is logged through the app's logger; `app.onError()` replaces this.
    const logErrors: ErrorHandler = (error, c) => {
      if ("getResponse" in error) return honoErrorHandler(error, c);
      const { method, path } = c.req;
      this.#lifespan.log.error(`Request failed: ${method} ${path}: ${messageOf(error)}`, {
        method,
        path,
        err: error,
      });
      return c.text("Internal Server Error", 500);
    };
    defaultErrorHandlers.add(logErrors);
    this.onError(logErrors);
    // Hono's fetch is an instance property: wrap it so each request has its own context.
    const honoFetch = this.fetch;
    const enter = requestEntry(isNode());
    const handler = (request: Request, env?: unknown, executionCtx?: unknown) =>
      enter(this, honoFetch, request, env as E["Bindings"], executionCtx as undefined);
    // What this library's servers call, from a request callback of the runtime's own, which
    // may leave the context entered (see `requestEntry`).
    const enterFromCallback = requestEntry(isNode(), true);
    this.#lifespan.handler = enterFromCallback === enter
      ? handler
      : (request, env) =>
        enterFromCallback(this, honoFetch, request, env as E["Bindings"], undefined);
    // A runtime that serves the app by itself (`export default app`) calls this fetch, which
    // then takes the app over: its lifespan runs as with `serve()`. Servers of this library,
    // the test client and `app.request()` never get there.
    this.fetch = (request, env, executionCtx) => {
      if (this.#takenOver === undefined && !servedByRuntime(env)) {
        return handler(request, env, executionCtx);
      }
      return this.#takeOver().fetch(request, env);
    };
    watchEntry(this, () => this.#takeOver());
    // Not enumerable: for Bun to read, not part of the app.
    for (const [key, value] of Object.entries(entryFields())) {
      Object.defineProperty(this, key, { value, configurable: true });
    }
  }

  #takeOver(): TakenOver {
    if (this.#takenOver !== undefined) return this.#takenOver;
    const lifespan = this.#lifespan;
    if (!lifespan.managed) return this.#takenOver = takeOver(lifespan, lifespan.handler!);
    lifespan.log.warn(
      "The app is served by serve() or run() and by the runtime too (export default app): " +
        "remove one of them",
    );
    return this.#takenOver = { fetch: lifespan.handler! };
  }

  /**
   * Aborted when shutdown begins, so long responses and loops can end themselves. Before the
   * first startup it is the first serving period's signal: taken at import, it still aborts
   * when the first shutdown begins. After a shutdown (or a failed startup) it stays aborted
   * until the next startup begins, which gets a fresh one.
   */
  get signal(): AbortSignal {
    return this.#lifespan.signal;
  }

  /**
   * Registers a hook that runs once at startup, before the server accepts a connection, after
   * the hooks registered before it. Sync or async.
   */
  beforeServing(hook: Hook): this {
    this.#lifespan.addBefore(checkFunction("beforeServing()", hook));
    return this;
  }

  /**
   * Registers a hook that runs once at shutdown, after the server has drained, before the
   * hooks registered before it (last in, first out). Sync or async.
   */
  afterServing(hook: Hook): this {
    this.#lifespan.addAfter(checkFunction("afterServing()", hook));
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
    this.#lifespan.addWhile(generatorFunction);
    return this;
  }

  /**
   * Runs `task` in the background, in a context of its own. Its errors are logged; shutdown
   * aborts `signal` and waits for it (also for tasks added during shutdown) up to
   * `backgroundTaskTimeout`, then abandons it with a warning. `task` gets the signal `signal`
   * is when it is added: one added after a shutdown, before the next startup, gets the aborted
   * one.
   */
  addBackgroundTask(task: BackgroundTask): void {
    this.#lifespan.addTask(checkFunction("addBackgroundTask()", task));
  }

  /**
   * Mounts `subApp` under `path`, as Hono's `route()`. When `subApp` is an `App`, its lifespan
   * joins this one's (once, however many times it is mounted): its startup runs after this
   * app's, its teardown before.
   *
   * @throws {TypeError} When `subApp` contains this app (a mount cycle).
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
    const mounted = lifespanOf(subApp);
    if (mounted !== undefined) this.#lifespan.mount(mounted, path);
    // A sub-app with the default handler leaves its errors to this app's (a user's `onError`
    // here included), as a Hono sub-app with Hono's default does.
    return mountInheritingErrors(
      subApp,
      (handler) => defaultErrorHandlers.has(handler),
      () => super.route(path, subApp),
    );
  }

  /**
   * Runs the startup phase: `beforeServing` hooks, then each `whileServing` generator up to its
   * `yield`, then those of mounted sub-apps. Servers call it before binding a socket.
   *
   * @throws {StartupError} When a hook fails or `timeout` passes; started generators are closed.
   * @throws {Error} When the app is already started.
   */
  async startup(options: PhaseOptions = {}): Promise<void> {
    checkKnownOptions("startup()", options, ["timeout"]);
    await this.#lifespan.startup(checkDuration("timeout", options.timeout ?? Infinity));
  }

  /**
   * Runs the shutdown phase, last in first out: aborts `signal`, waits for background tasks,
   * resumes the generators past their `yield`, then runs the `afterServing` hooks. Every step
   * runs even if an earlier one failed. Servers call it after they have drained.
   *
   * @throws {ShutdownError} Carrying every teardown error, after every step ran.
   * @throws {Error} When the app is not started.
   */
  async shutdown(options: PhaseOptions = {}): Promise<void> {
    checkKnownOptions("shutdown()", options, ["timeout"]);
    const { error } = await this.#lifespan.shutdown(
      checkDuration("timeout", options.timeout ?? Infinity),
    );
    if (error !== undefined) throw error;
  }

  /**
   * A client that sends requests to the app in-process, without running its lifespan (as
   * Quart's test client). Use `testApp()` to run the lifespan around it.
   */
  testClient(options: TestClientOptions = {}): TestClient {
    return new TestClient(this, options);
  }

  /**
   * Runs startup and returns a `TestApp` whose `shutdown()` (or `await using`) runs shutdown.
   *
   * @throws {StartupError} When a hook fails or `startupTimeout` (6000 ms) passes.
   */
  async testApp(options: TestAppOptions = {}): Promise<TestApp<this>> {
    return await TestApp.start(this, options);
  }

  /**
   * Serves the app for a person at a terminal: prints `Running on http://127.0.0.1:8000 (CTRL +
   * C to quit)` once the socket is bound, stops on SIGINT or SIGTERM, exits with code 1 and the
   * failing hook's name when startup fails, and resolves after shutdown.
   */
  async run(options: ServeOptions = {}): Promise<void> {
    await runOn(await detectRuntime(), this, options);
  }
}

/**
 * The app being served: inside its lifespan hooks, request handlers (also those of sub-apps
 * mounted with `route()`, where it is the parent) and background tasks.
 *
 * @typeParam A The app's type, to read a typed `state`.
 * @throws {Error} Outside every app context.
 *
 * @example Reach the app's resources from a handler
 * ```ts
 * import { App, currentApp } from "@lifespan/hono";
 *
 * const app = new App<{ State: { visits: number } }>();
 * app.beforeServing(() => {
 *   app.state.visits = 0;
 * });
 * app.get("/", (c) => c.text(String(++currentApp<typeof app>().state.visits)));
 * ```
 */
export function currentApp<A = App>(): A {
  return contextApp() as A;
}
