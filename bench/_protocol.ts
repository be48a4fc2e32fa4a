/**
 * What the driver and the in-process workers (`inprocess.ts`) say to each other: one JSON
 * `Command` per line on the worker's stdin, one JSON reply per line on its stdout.
 *
 * @module
 */

/** What a worker times, one per process. */
export const CASES = {
  /** `app.request("/")` on a plain Hono app: the baseline. */
  "hono.request": "plain Hono app.request()",
  /** `app.request("/")` on a started `App` with hooks. */
  "app.request": "App app.request()",
  /** `testClient().get("/")` on a started `App`. */
  "app.testClient": "App testClient().get()",
  /** `testApp()` then `shutdown()` on an `App` with hooks. */
  "app.testApp": "App testApp() + shutdown()",
} as const;

/** One of `CASES`. */
export type Case = keyof typeof CASES;

/** A command from the driver: time the worker's case, or count heap growth over cycles. */
export type Command =
  | { op: "time"; ms: number }
  | { op: "heap"; batches: number; cycles: number };

/** The reply to `time`: operations done in `ms` milliseconds, using `cpuMs` of CPU time. */
export interface TimeReply {
  ops: number;
  ms: number;
  cpuMs: number;
}

/** The reply to `heap`: heap used after a full GC, before the first batch and after each. */
export interface HeapReply {
  heapUsed: number[];
}
