/**
 * Starting a worker as a child process with an IPC channel: how Deno and Bun primaries start
 * theirs (Node's use `node:cluster`).
 *
 * @module
 */
import { once } from "node:events";
import process from "node:process";
import type { WorkerProcess } from "./types.ts";

/** Starts `command args` as a worker with an IPC channel, `env` added to this one's. */
export async function spawnWorker(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<WorkerProcess> {
  const { spawn } = await import("node:child_process");
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Rejects on a spawn error, and takes its "error" listener off once spawned: a later error
  // (a failed send) must not land in a settled promise.
  await once(child, "spawn");
  // Deno 2.9 never closes the channel of a child that exits while a message to it is on its
  // way, and so never emits "close". After the reads already pending (its last reports), the
  // channel is closed here.
  child.once("exit", () => setTimeout(() => child.connected && child.disconnect()));
  return child;
}
