/**
 * The Deno runtime.
 *
 * @module
 */
import type { Runtime } from "../types.ts";
import { listen } from "./listen.ts";

/** The part of Deno's API used here, typed so that tsc checks it too. */
interface DenoProcess {
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
  exitCode: number;
  env: { get(name: string): string | undefined };
  kill(pid: number, signal: string): void;
  readonly mainModule: string;
}

const Deno = (globalThis as unknown as { Deno: DenoProcess }).Deno;

/** Deno's Node-compatible `process` global, if it has one. */
function nodeProcess(): { exit(code: number): never } | undefined {
  return (globalThis as unknown as { process?: { exit(code: number): never } }).process;
}

/** The Deno runtime: `Deno.serve`, Deno's signals, and `deno run` for workers. */
export const runtime: Runtime = {
  listen,
  onSignal(signal, listener) {
    try {
      Deno.addSignalListener(signal, listener);
    } catch {
      return () => {}; // SIGTERM and SIGHUP do not exist on Windows
    }
    return () => Deno.removeSignalListener(signal, listener);
  },
  // Through `process.exit` where Deno has it (Deno 2 does): it runs the `exit` listeners of
  // Node-style code (loggers that flush, temp files) and then calls `Deno.exit`, which alone
  // would run only `unload` listeners.
  exit: (code) => nodeProcess()?.exit(code) ?? Deno.exit(code),
  setExitCode(code) {
    Deno.exitCode = code;
  },
  env: (name) => Deno.env.get(name),
  // Loaded only by a primary: a single process never needs it.
  kill: (pid, signal) => Deno.kill(pid, signal),
  startWorker: async (env) => (await import("./worker.ts")).startWorker(env),
  workersShareSocket: false,
  get main() {
    return Deno.mainModule;
  },
  entry: async () => (await import("./entry.ts")).entry(),
};
