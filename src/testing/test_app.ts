/**
 * `TestApp`: an app whose startup has run, for tests, as Quart's `test_app()`.
 *
 * @module
 */
import { drain } from "../core/drain.ts";
import { type Lifespan, lifespanOf } from "../core/lifespan.ts";
import { checkDuration, checkKnownOptions, describeValue } from "../core/options.ts";
import { TestClient, type TestClientOptions, type TestTarget } from "./client.ts";
import { testSocketsOf } from "./websocket.ts";

/** Options of `app.testApp()`. */
export interface TestAppOptions {
  /**
   * Milliseconds startup may take before it fails with a `StartupError`.
   * @default {6000}
   */
  startupTimeout?: number;
  /**
   * Milliseconds each teardown step may take before shutdown reports it in a `ShutdownError`.
   * @default {6000}
   */
  shutdownTimeout?: number;
}

/**
 * An app whose startup has run, for tests: send requests with `testClient()`, then `shutdown()`
 * or let `await using` do it. Like Quart's `test_app()`.
 *
 * @example Run the lifespan around a test
 * ```ts
 * import { App } from "@lifespan/hono";
 *
 * const app = new App<{ State: { ready: boolean } }>();
 * app.beforeServing(() => {
 *   app.state.ready = true;
 * });
 * app.get("/ready", (c) => c.json(app.state.ready));
 *
 * await using testApp = await app.testApp();
 * const response = await testApp.testClient().get("/ready");
 * console.log(await response.json()); // true
 * ```
 */
export class TestApp<A extends TestTarget = TestTarget> {
  /** The app under test. */
  readonly app: A;
  readonly #lifespan: Lifespan;
  readonly #shutdownTimeout: number;
  #shutdown: Promise<void> | undefined;

  private constructor(app: A, lifespan: Lifespan, shutdownTimeout: number) {
    this.app = app;
    this.#lifespan = lifespan;
    this.#shutdownTimeout = shutdownTimeout;
  }

  /** Runs `app`'s startup and returns the started `TestApp`. `app.testApp()` is the usual way. */
  static async start<A extends TestTarget>(
    app: A,
    options: TestAppOptions = {},
  ): Promise<TestApp<A>> {
    checkKnownOptions("testApp()", options, ["startupTimeout", "shutdownTimeout"]);
    const startupTimeout = checkDuration("startupTimeout", options.startupTimeout ?? 6000);
    const shutdownTimeout = checkDuration("shutdownTimeout", options.shutdownTimeout ?? 6000);
    const lifespan = lifespanOf(app);
    if (lifespan === undefined) {
      throw new TypeError(`testApp() expects an App of @lifespan/hono, got ${describeValue(app)}`);
    }
    await lifespan.startup(startupTimeout);
    return new TestApp(app, lifespan, shutdownTimeout);
  }

  /** A client for the started app. */
  testClient(options?: TestClientOptions): TestClient {
    return new TestClient(this.app, options);
  }

  /**
   * Closes the test clients' WebSockets (1001, each `onClose` awaited), then runs the app's
   * shutdown; calling it again returns the same promise.
   */
  shutdown(): Promise<void> {
    return this.#shutdown ??= this.#stop();
  }

  async #stop(): Promise<void> {
    // As a server's shutdown: `app.signal` aborts, then the test clients' WebSockets get 1001
    // and their `onClose` finishes (the drain), then the shutdown hooks run.
    const lifespan = this.#lifespan;
    lifespan.beginShutdown();
    const sockets = testSocketsOf(this.app);
    try {
      await drain([sockets], this.#shutdownTimeout, lifespan.log);
      const { error } = await lifespan.shutdown(this.#shutdownTimeout);
      if (error !== undefined) throw error;
    } finally {
      sockets.reopen();
    }
  }

  /** Shuts the app down at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
