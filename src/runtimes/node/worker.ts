/**
 * How a Node primary starts a worker: `node:cluster`, which re-runs `argv[1]` with `execArgv`
 * (so `--import tsx` carries over) and whose workers' `listen` shares the primary's socket.
 *
 * @module
 */
import cluster from "node:cluster";
import type { WorkerProcess } from "../types.ts";

/** Starts this program again as a worker (see `Runtime.startWorker`). */
export function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return Promise.resolve(cluster.fork(env).process);
}
