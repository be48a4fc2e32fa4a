/**
 * How a Deno primary starts a worker: `deno run` on the same main module and arguments, with
 * the permissions this process holds (never more) and `--unstable-net` for `reusePort`.
 *
 * @module
 */
import { spawnWorker } from "../spawn.ts";
import type { WorkerProcess } from "../types.ts";

/** The part of Deno's API used here, typed so that tsc checks it too. */
interface DenoApi {
  execPath(): string;
  readonly mainModule: string;
  readonly args: string[];
  permissions: { querySync(descriptor: { name: Permission }): { state: string } };
}

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const PERMISSIONS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;
type Permission = typeof PERMISSIONS[number];

/**
 * The `--allow-*` flags for the permissions this process holds in full. `Deno.execArgv` does
 * not exist: a grant limited to a list (`--allow-net=host`) cannot be read back, so it is not
 * passed on, and a worker that needs it fails at startup, saying which permission it lacks.
 */
export function permissionFlags(): string[] {
  const granted = PERMISSIONS.filter((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  if (granted.length === PERMISSIONS.length) return ["--allow-all"];
  return granted.map((name) => `--allow-${name}`);
}

/** Starts this program again as a worker (see `Runtime.startWorker`). */
export function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return spawnWorker(
    Deno.execPath(),
    ["run", ...permissionFlags(), "--unstable-net", Deno.mainModule, ...Deno.args],
    env,
  );
}
