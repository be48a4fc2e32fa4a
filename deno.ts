/**
 * `serve()` on Deno, with `Deno.serve`. The root
 * module picks the runtime by itself; import this to pin it.
 *
 * @example Serve an app on Deno
 * ```ts ignore
 * import { App } from "@lifespan/hono";
 * import { serve } from "@lifespan/hono/deno";
 *
 * const app = new App().get("/", (c) => c.text("Hello"));
 * const server = await serve(app, { port: 0 });
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { runOn, serveOn } from "./src/server/serve.ts";
import { runtime } from "./src/runtimes/deno/runtime.ts";
import type { Fetchable, ServeOptions, Server } from "./src/server/types.ts";

export type { Fetchable, ServeOptions, Server } from "./src/server/types.ts";

/**
 * Runs the app's startup, binds the socket, and resolves once it listens. On SIGINT or
 * SIGTERM (or `options.signal`, or `server.shutdown()`), drains and runs the shutdown.
 *
 * @example Serve on a free port
 * ```ts ignore
 * import { App } from "@lifespan/hono";
 * import { serve } from "@lifespan/hono/deno";
 *
 * const server = await serve(new App(), { port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export function serve(app: Fetchable, options?: ServeOptions): Promise<Server> {
  return serveOn(runtime, app, options);
}

/**
 * `serve()` for a terminal: prints where it runs, exits with code 1 if startup fails, and
 * resolves after shutdown.
 *
 * @example Run an app until CTRL + C
 * ```ts ignore
 * import { App } from "@lifespan/hono";
 * import { run } from "@lifespan/hono/deno";
 *
 * await run(new App().get("/", (c) => c.text("Hello")));
 * ```
 */
export function run(app: Fetchable, options?: ServeOptions): Promise<void> {
  return runOn(runtime, app, options);
}
