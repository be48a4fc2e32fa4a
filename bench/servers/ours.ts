/**
 * Peer "ours": this library's `serve()` (runtime picked by `mod.ts`) with the benchmark `App`.
 * `ours.ts hono` serves the plain Hono app instead, to tell the adapter's cost from the App's;
 * `ours.ts access-log` serves with the access log on.
 * Prints `ready <url>` once listening; SIGTERM shuts it down as `serve()` does by default.
 *
 * @module
 */
import { serve } from "../../mod.ts";
import { honoApp } from "../apps/hono.ts";
import { lifespanApp } from "../apps/lifespan.ts";

// Deno's own arguments there: loading `node:process` costs Deno 5–10 ms at startup, which the
// library does not pay (nor the bare server).
const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (await import("node:process")).default.argv;
const app = argv.includes("hono") ? honoApp() : lifespanApp();
// `ours.ts access-log`: the access log on, its lines built and handed to a logger that drops
// them, so that what is measured is the library's cost, not a console's.
const discard = () => {};
const accessLog = argv.includes("access-log")
  ? { accessLog: true, logger: { debug: discard, info: discard, warn: discard, error: discard } }
  : {};
const server = await serve(app, { port: 0, hostname: "127.0.0.1", ...accessLog });
console.log(`ready ${server.url}`);
