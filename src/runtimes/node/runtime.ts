/**
 * The Node runtime.
 *
 * @module
 */
import { processRuntime } from "../process.ts";
import type { Runtime } from "../types.ts";
import { listen } from "./listen.ts";

/** The Node runtime: `node:http`, `node:process` and `node:cluster`. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  // Loaded only by a primary: a single process never needs node:cluster.
  startWorker: async (env) => (await import("./worker.ts")).startWorker(env),
  workersShareSocket: true,
};
