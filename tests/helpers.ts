/** Helpers shared by the test files. Not a test file itself. */
import process from "node:process";

/** A promise with its resolve function outside. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/**
 * Settles like `work`, or rejects with `message` (a function: read when the time is up) if it
 * has not settled within `ms`: a liveness bound, so that a regression fails with a message
 * instead of hanging until the test's own timeout.
 */
export async function within<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
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
