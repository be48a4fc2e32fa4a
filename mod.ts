/**
 * The startup and shutdown lifecycle that Quart and Hypercorn give a Python app, for a Hono
 * app on Deno, Bun and Node: hooks that run once before the server accepts a connection and
 * once after it has drained, resources kept on the app in between, an app context, background
 * tasks, a test harness that runs the lifespan, and a server runner that owns the signals.
 *
 * @example Keep a resource for the life of the server
 * ```ts ignore
 * import { App, currentApp } from "@lifespan/hono";
 *
 * const app = new App<{ State: { started: Date } }>();
 * app.beforeServing(() => {
 *   app.state.started = new Date();
 * });
 * app.afterServing(() => console.log("bye"));
 * app.get("/", (c) => c.text(`up since ${currentApp<typeof app>().state.started}`));
 *
 * await app.run(); // Running on http://127.0.0.1:8000 (CTRL + C to quit)
 * ```
 *
 * @module
 */
import { runOn, serveOn } from "./src/server/serve.ts";
import { detectRuntime } from "./src/server/runtime.ts";
import type { Fetchable, ServeOptions, Server } from "./src/server/types.ts";

export {
  App,
  type AppOptions,
  type AppState,
  type BackgroundTask,
  currentApp,
  type LifespanEnv,
  type PhaseOptions,
} from "./src/app.ts";
export { g, type Globals } from "./src/core/context.ts";
export { LifespanError, ShutdownError, StartupError } from "./src/core/errors.ts";
export type { LogFields, Logger } from "./src/core/log.ts";
export {
  type CutRequest,
  DIAGNOSTICS_CHANNELS,
  type HookMessage,
  type HookTiming,
  type PhaseMessage,
  type ServerMessage,
} from "./src/core/events.ts";
export { upgradeWebSocket, type UpgradeWebSocketOptions } from "./src/core/websocket.ts";
export type { Hook, ServingGenerator } from "./src/core/phases.ts";
export {
  type Query,
  TestClient,
  type TestClientOptions,
  type TestRequestInit,
  type TestTarget,
  type TestWebSocketInit,
} from "./src/testing/client.ts";
export { TestApp, type TestAppOptions } from "./src/testing/test_app.ts";
export {
  TestWebSocket,
  type TestWebSocketData,
  type TestWebSocketMessage,
} from "./src/testing/websocket.ts";
export type {
  AccessLogOptions,
  Fetchable,
  HealthOptions,
  ListenInfo,
  ServeOptions,
  Server,
  TlsOptions,
} from "./src/server/types.ts";

/**
 * Serves `app` on the runtime this code runs on (Deno, Bun or Node): runs its startup, binds
 * the socket, and resolves once it listens. SIGINT or SIGTERM, `options.signal` or
 * `server.shutdown()` then drain the server and run the app's shutdown.
 *
 * @example Serve on a free port and stop
 * ```ts ignore
 * import { App, serve } from "@lifespan/hono";
 *
 * const app = new App().get("/", (c) => c.text("Hello"));
 * const server = await serve(app, { port: 0 });
 * console.log(await (await fetch(server.url)).text());
 * await server.shutdown();
 * ```
 */
export async function serve(app: Fetchable, options?: ServeOptions): Promise<Server> {
  return await serveOn(await detectRuntime(), app, options);
}

/**
 * `serve()` for a person at a terminal, as `app.run()`: prints where it runs once the socket
 * is bound, exits with code 1 naming the failing hook if startup fails, and resolves after
 * shutdown.
 *
 * @example Run a plain Hono app
 * ```ts ignore
 * import { Hono } from "hono";
 * import { run } from "@lifespan/hono";
 *
 * await run(new Hono().get("/", (c) => c.text("Hello")));
 * ```
 */
export async function run(app: Fetchable, options?: ServeOptions): Promise<void> {
  await runOn(await detectRuntime(), app, options);
}
