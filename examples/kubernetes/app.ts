/**
 * An app made to be run by Kubernetes (see README.md): readiness on `/healthz`, a shutdown delay
 * for the endpoint removal to reach every load balancer, bounded drain and teardown, and workers
 * sharing the container's port. Every timing comes from the environment, so that the manifest
 * sets them in one place, next to the `terminationGracePeriodSeconds` they must fit in.
 *
 *     PORT=8000 WORKERS=2 npx tsx examples/kubernetes/app.ts
 */
import process from "node:process";
import { App } from "@lifespan/hono";

/** A number of milliseconds (or workers) from the environment, or `fallback`. */
function fromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : Number(value);
}

const app = new App<{ State: { pool: Map<number, string> } }>();

// One teardown step (this generator's second half): the manifest's grace period counts on it.
app.whileServing(async function* connectionPool() {
  app.state.pool = new Map([[1, "connection 1"], [2, "connection 2"]]);
  console.log(`pid ${process.pid}: pool of ${app.state.pool.size} connections open`);
  yield; // serving happens here
  app.state.pool.clear();
  console.log(`pid ${process.pid}: pool closed`);
});

app.get("/", (c) => c.text(`Hello from pid ${process.pid}\n`));

const workers = process.env.WORKERS === "auto" ? "auto" : fromEnv("WORKERS", 1);
await app.run({
  // PORT is read by the server itself (default 8000).
  hostname: process.env.HOST ?? "0.0.0.0",
  workers,
  health: { path: "/healthz" },
  shutdownDelay: fromEnv("SHUTDOWN_DELAY_MS", 5000),
  gracefulTimeout: fromEnv("GRACEFUL_TIMEOUT_MS", 10_000),
  shutdownTimeout: fromEnv("SHUTDOWN_TIMEOUT_MS", 10_000),
});
