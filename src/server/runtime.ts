/**
 * The runtime this code runs on, detected by feature and loaded only when needed: Deno never
 * loads the `node:http` code it does not use.
 *
 * @module
 */
import type { AsyncFrames } from "../core/context.ts";
import { denoAsyncFrames } from "../runtimes/deno/_internals.ts";
import type { Runtime } from "../runtimes/types.ts";

let detected: Promise<Runtime> | undefined;

/** The runtime of Deno, Bun or Node, whichever this is; loaded once. */
export function detectRuntime(): Promise<Runtime> {
  return detected ??= "Deno" in globalThis
    ? import("../runtimes/deno/runtime.ts").then((module) => module.runtime)
    : "Bun" in globalThis
    ? import("../runtimes/bun/runtime.ts").then((module) => module.runtime)
    : import("../runtimes/node/runtime.ts").then((module) => module.runtime);
}

/** Whether this runtime serves a module's default export by itself (Deno, Bun). */
export function servesEntries(): boolean {
  return "Deno" in globalThis || "Bun" in globalThis;
}

/** Whether this runtime is Bun. */
export function isBun(): boolean {
  return "Bun" in globalThis;
}

/** Whether this runtime is Node (neither Deno nor Bun). */
export function isNode(): boolean {
  return !("Deno" in globalThis) && !("Bun" in globalThis);
}

/** The runtime's own async context frames, where the app context is cheaper in them (Deno). */
export function runtimeAsyncFrames(): AsyncFrames | undefined {
  return "Deno" in globalThis ? denoAsyncFrames() : undefined;
}
