/**
 * How a Bun primary starts a worker: `bun` on the same entry (`Bun.main`), flags and arguments.
 *
 * @module
 */
import process from "node:process";
import { spawnWorker } from "../spawn.ts";
import type { WorkerProcess } from "../types.ts";

/** The entry module's path: what a worker runs again. */
const Bun = (globalThis as unknown as { Bun: { main: string } }).Bun;

/** Starts this program again as a worker (see `Runtime.startWorker`). */
export function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return spawnWorker(
    process.execPath,
    [...process.execArgv, Bun.main, ...process.argv.slice(2)],
    env,
  );
}
