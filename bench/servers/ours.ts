/**
 * Peer "ours": this library's `serve()` (runtime picked by `mod.ts`) with the benchmark `App`.
 * `ours.ts hono` serves the plain Hono app instead, to tell the adapter's cost from the App's.
 * Prints `ready <url>` once listening; SIGTERM shuts it down as `serve()` does by default.
 *
 * @module
 */
import process from "node:process";
import { serve } from "../../mod.ts";
import { honoApp } from "../apps/hono.ts";
import { lifespanApp } from "../apps/lifespan.ts";

const app = process.argv.includes("hono") ? honoApp() : lifespanApp();
const server = await serve(app, { port: 0, hostname: "127.0.0.1" });
console.log(`ready ${server.url}`);
