/** Helpers shared by the test files. Not a test file itself. */
import process from "node:process";

/** A promise with its resolve function outside. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** Collects console.error and console.warn calls until disposed, printing nothing. */
export function captureConsole(): {
  errors: unknown[][];
  warnings: unknown[][];
  [Symbol.dispose](): void;
} {
  const { error, warn } = console;
  const captured = {
    errors: [] as unknown[][],
    warnings: [] as unknown[][],
    [Symbol.dispose]() {
      console.error = error;
      console.warn = warn;
    },
  };
  console.error = (...args: unknown[]) => void captured.errors.push(args);
  console.warn = (...args: unknown[]) => void captured.warnings.push(args);
  return captured;
}

/** The runtime running the tests, for spawning children of the same one. */
export const runtimeName: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** The command that runs a TypeScript file on the runtime running the tests. */
export function scriptCommand(script: string): [string, string[]] {
  switch (runtimeName) {
    case "deno":
      return [process.execPath, ["run", "-A", script]];
    case "bun":
      return [process.execPath, ["run", script]];
    case "node":
      return [process.execPath, ["--import", "tsx", script]];
  }
}
