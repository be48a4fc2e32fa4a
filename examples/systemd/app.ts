/**
 * An app run by systemd (see README.md and lifespan-hono.service): workers sharing one port,
 * replaced one at a time by `systemctl reload` (SIGHUP) so that a deploy drops no request, and
 * stopped by `systemctl stop` (SIGTERM) within the unit's `TimeoutStopSec`. Every timing comes
 * from the environment, so that the unit sets them next to the timeout they must fit in.
 *
 *     PORT=8000 WORKERS=2 npx tsx examples/systemd/app.ts
 */
import process from "node:process";
import { App } from "@lifespan/hono";

/** What a deploy changes: each worker answers with the version it loaded at its start. */
const version = "1.0.0";

/** A number of milliseconds (or workers) from the environment, or `fallback`. */
function fromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : Number(value);
}

const app = new App<{ State: { pool: Map<number, string> } }>();

// One teardown step (this generator's second half): the unit's TimeoutStopSec counts on it.
app.whileServing(async function* connectionPool() {
  app.state.pool = new Map([[1, "connection 1"], [2, "connection 2"]]);
  console.log(`pid ${process.pid}: version ${version}, pool open`);
  yield; // serving happens here
  app.state.pool.clear();
  console.log(`pid ${process.pid}: pool closed`);
});

app.get("/", (c) => c.text(`Hello from pid ${process.pid}, version ${version}\n`));

await app.run({
  // PORT is read by the server itself (default 8000).
  hostname: process.env.HOST ?? "127.0.0.1",
  workers: fromEnv("WORKERS", 2),
  gracefulTimeout: fromEnv("GRACEFUL_TIMEOUT_MS", 10_000),
  shutdownTimeout: fromEnv("SHUTDOWN_TIMEOUT_MS", 10_000),
});
