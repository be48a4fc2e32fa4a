/**
 * The Bun runtime.
 *
 * @module
 */
import { processRuntime } from "../process.ts";
import type { Runtime } from "../types.ts";
import { listen } from "./listen.ts";

/** The Bun runtime: `Bun.serve`, `node:process`, and `bun` processes for workers. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  // Loaded only by a primary: a single process never needs it.
  startWorker: async (env) => (await import("./worker.ts")).startWorker(env),
  workersSharePortZero: false,
};
