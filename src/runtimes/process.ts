/**
 * The parts of a runtime that Node's `process` gives, shared by the Node and Bun runtimes.
 *
 * @module
 */
import process from "node:process";
import type { Runtime } from "./types.ts";

/** Signals, exit and environment through `node:process`. */
export const processRuntime: Pick<
  Runtime,
  "onSignal" | "exit" | "setExitCode" | "env" | "kill"
> = {
  onSignal(signal, listener) {
    process.on(signal, listener);
    return () => process.off(signal, listener);
  },
  exit: (code) => process.exit(code),
  setExitCode(code) {
    process.exitCode = code;
  },
  env: (name) => process.env[name],
  kill: (pid, signal) => void process.kill(pid, signal),
};
