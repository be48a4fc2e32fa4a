/**
 * Peer "srvx": srvx's `serve()` (its export conditions pick the runtime) with the plain Hono
 * app. Prints `ready <url>` once listening; SIGTERM closes it.
 *
 * @module
 */
import process from "node:process";
import { serve } from "srvx";
import { honoApp } from "../apps/hono.ts";

const app = honoApp();
const server = serve({
  fetch: app.fetch,
  hostname: "127.0.0.1",
  port: 0,
  silent: true,
  gracefulShutdown: false,
});
await server.ready();
console.log(`ready ${server.url?.replace(/\/$/, "")}`);
process.once("SIGTERM", () => void server.close());
