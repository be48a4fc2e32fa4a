/**
 * How a Bun primary starts a worker: `bun` on the same entry, flags and arguments.
 *
 * @module
 */
import { readFileSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { spawnWorker } from "../spawn.ts";
import type { WorkerProcess } from "../types.ts";

/** The entry module's real path. */
const Bun = (globalThis as unknown as { Bun: { main: string } }).Bun;

/**
 * The entry module as the command line named it, where Linux keeps that (`/proc`): `Bun.main`
 * has its symlinks resolved, and after a deploy that re-points one (`current -> releases/v2`) a
 * reload would start the old release again. Else `Bun.main`. Read once, before any such deploy.
 */
function entryAsGiven(): string {
  try {
    const cwd = process.cwd();
    // A shell's logical working directory keeps a symlink that cwd() has resolved.
    const pwd = process.env.PWD;
    const base = pwd !== undefined && realpathSync(pwd) === cwd ? pwd : cwd;
    const args = readFileSync("/proc/self/cmdline", "utf8").split("\0").slice(1);
    for (const arg of args) {
      if (arg === "" || arg.startsWith("-")) continue;
      const path = resolve(base, arg);
      try {
        if (realpathSync(path) === Bun.main) return path;
      } catch {
        // Not a path (`run`, an argument of the app's).
      }
    }
  } catch {
    // No /proc: not Linux.
  }
  return Bun.main;
}

let entry: string | undefined;

/** Starts this program again as a worker (see `Runtime.startWorker`). */
export function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  entry ??= entryAsGiven();
  return spawnWorker(
    process.execPath,
    [...process.execArgv, entry, ...process.argv.slice(2)],
    env,
  );
}
