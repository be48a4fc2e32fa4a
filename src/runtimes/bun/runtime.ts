/**
 * The Bun runtime.
 *
 * @module
 */
import process from "node:process";
import { processRuntime } from "../process.ts";
import type { Runtime } from "../types.ts";
import { listen } from "./listen.ts";

/** The entry module's path: what Bun serves the default export of, and what a worker runs. */
const Bun = (globalThis as unknown as { Bun: { main: string } }).Bun;

/** Whether `bun --hot` or `bun --watch` runs this: their watcher keeps the process alive. */
const watched = process.execArgv.some((flag) => flag === "--hot" || flag === "--watch");

/** The Bun runtime: `Bun.serve`, `node:process`, and `bun` processes for workers. */
export const runtime: Runtime = {
  listen,
  ...processRuntime,
  // Loaded only by a primary: a single process never needs it.
  startWorker: async (env) => (await import("./worker.ts")).startWorker(env),
  workersShareSocket: false,
  get main() {
    return Bun.main;
  },
  entry: async () => (await import("./entry.ts")).entry((code) => runtime.exitWhenDone?.(code)),
  hot: process.execArgv.includes("--hot"),
  exitWhenDone(code) {
    if (watched) process.once("beforeExit", () => process.exit(code));
  },
};
