/**
 * The Node runtime.
 *
 * @module
 */
import { processRuntime } from "../process.ts";
import type { Runtime } from "../types.ts";
import { listen } from "./listen.ts";
import { startWorker } from "./worker.ts";

/** The Node runtime: `node:http`, `node:process` and `node:cluster`. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  startWorker,
  workersShareSocket: true,
};
