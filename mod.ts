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
import type { Fetchable, Runtime, ServeOptions, Server } from "./src/adapters/types.ts";
import { runWith, serveWith } from "./src/adapters/_server.ts";

export {
  App,
  type AppOptions,
  type AppState,
  type BackgroundTask,
  type LifespanEnv,
  type PhaseOptions,
} from "./src/app.ts";
export { currentApp, g, type Globals } from "./src/context.ts";
export { LifespanError, ShutdownError, StartupError } from "./src/errors.ts";
export { upgradeWebSocket, type UpgradeWebSocketOptions } from "./src/websocket.ts";
export type { Hook, ServingGenerator } from "./src/lifespan.ts";
export {
  type Query,
  TestApp,
  type TestAppOptions,
  TestClient,
  type TestClientOptions,
  type TestRequestInit,
  type TestWebSocketInit,
} from "./src/testing.ts";
export {
  TestWebSocket,
  type TestWebSocketData,
  type TestWebSocketMessage,
} from "./src/test_websocket.ts";
export type {
  Fetchable,
  HealthOptions,
  ListenInfo,
  ServeOptions,
  Server,
  TlsOptions,
} from "./src/adapters/types.ts";

/** The adapter for the runtime this code runs on, loaded once and only when needed. */
async function detectRuntime(): Promise<Runtime> {
  if ("Deno" in globalThis) return (await import("./src/adapters/deno.ts")).runtime;
  if ("Bun" in globalThis) return (await import("./src/adapters/bun.ts")).runtime;
  return (await import("./src/adapters/node.ts")).runtime;
}

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
  return await serveWith(await detectRuntime(), app, options);
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
  await runWith(await detectRuntime(), app, options);
}
