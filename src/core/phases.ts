/**
 * The two phases of a lifespan, as plain functions over the registered hooks: `runStartup`
 * returns the teardown stack that `runShutdown` unwinds.
 *
 * @module
 */
import { StartupError } from "./errors.ts";
import { type HookMessage, type HookTiming, roundMs, traceHook } from "./events.ts";
import { type Logger, messageOf } from "./log.ts";
import { every, withTimeout } from "./timers.ts";

/** A `beforeServing` or `afterServing` hook. */
export type Hook = () => unknown;

/** A `whileServing` hook: a sync or async generator function that yields once. */
export type ServingGenerator = () =>
  | Generator<unknown, unknown, unknown>
  | AsyncGenerator<unknown, unknown, unknown>;

/** The hooks one app registered. A parent app's hooks come before those of its sub-apps. */
export interface Hooks {
  readonly before: Hook[];
  readonly while: ServingGenerator[];
  readonly after: Hook[];
}

type ServingIterator = ReturnType<ServingGenerator>;

/** How a hook was registered. */
type Kind = HookMessage["kind"];

/** One entry of the teardown stack: a generator to resume or an `afterServing` hook to run. */
export type Teardown =
  & { readonly name: HookName }
  & ({ readonly iterator: ServingIterator } | { readonly hook: Hook });

/** How a hook is named: `hook` is its name (or its place), `text` says which kind it is. */
interface HookName {
  readonly kind: Kind;
  readonly hook: string;
  readonly text: string;
}

/** A named function by its name (`connectDb`), else by its place (`beforeServing hook #2`). */
function nameHook(kind: Kind, fn: { name: string }, index: number): HookName {
  if (fn.name && fn.name !== "anonymous") {
    return { kind, hook: fn.name, text: `${kind} hook ${fn.name}` };
  }
  const place = `${kind} hook #${index + 1}`;
  return { kind, hook: place, text: place };
}

/**
 * How often a hook still pending is reported ("Still waiting for connectDb after 5 s"). Tests
 * shorten it.
 */
export const stillWaiting: { intervalMs: number } = { intervalMs: 5000 };

/** `5 s`, or `0.05 s` for the short intervals of tests. */
function seconds(ms: number): string {
  return `${Math.round(ms) / 1000} s`;
}

/**
 * One run of a phase's hooks: each is timed (logged at `debug`, kept for the summary and the
 * `hook` tracing channel), and reported while it is still pending every `stillWaiting`.
 */
class PhaseRun {
  /** Each hook that finished, in the order it ran. */
  readonly timings: HookTiming[] = [];
  readonly #app: object;
  readonly #phase: "startup" | "shutdown";
  readonly #log: Logger;
  #stopWatching: (() => void) | undefined;

  constructor(app: object, phase: "startup" | "shutdown", log: Logger) {
    this.#app = app;
    this.#phase = phase;
    this.#log = log;
  }

  /** Runs one hook: `name` names it, `run` runs it. */
  async hook<T>(name: HookName, run: () => T | Promise<T>): Promise<T> {
    const phase = this.#phase;
    const { kind, hook } = name;
    const interval = stillWaiting.intervalMs;
    this.#stopWatching = every(interval, (count) => {
      const waitedMs = count * interval;
      this.#log.info(`Still waiting for ${hook} after ${seconds(waitedMs)}`, {
        phase,
        hook,
        kind,
        waitedMs,
      });
    });
    const started = performance.now();
    try {
      const result = await traceHook(
        () => ({ app: this.#app, phase, kind, hook }),
        async () => await run(),
      );
      const durationMs = roundMs(performance.now() - started);
      this.timings.push({ hook, durationMs });
      this.#log.debug(`${name.text} took ${durationMs} ms`, { phase, hook, kind, durationMs });
      return result;
    } finally {
      this.stopWatching();
    }
  }

  /** Stops reporting the hook pending now: the phase gave up on it (a timeout). */
  stopWatching(): void {
    this.#stopWatching?.();
    this.#stopWatching = undefined;
  }
}

/** `Started in 184 ms (connectDb 150 ms, cache 30 ms)`: the hooks of 1 ms or more, as they ran. */
export function summarize(
  what: string,
  durationMs: number,
  timings: readonly HookTiming[],
): string {
  const slow = timings.filter((timing) => timing.durationMs >= 1)
    .map((timing) => `${timing.hook} ${Math.round(timing.durationMs)} ms`);
  return `${what} in ${Math.round(durationMs)} ms${slow.length > 0 ? ` (${slow.join(", ")})` : ""}`;
}

function isIterator(value: unknown): value is ServingIterator {
  return typeof value === "object" && value !== null &&
    typeof (value as ServingIterator).next === "function" &&
    typeof (value as ServingIterator).return === "function";
}

/**
 * Runs every `beforeServing` hook, then advances every `whileServing` generator to its first
 * `yield`, unit by unit. On failure or timeout, closes the generators already started (last
 * first) and throws a `StartupError`; `afterServing` hooks do not run then.
 */
export async function runStartup(
  units: readonly Hooks[],
  timeout: number,
  log: Logger,
  app: object,
): Promise<{ stack: Teardown[]; timings: HookTiming[] }> {
  const stack: Teardown[] = [];
  const run = new PhaseRun(app, "startup", log);
  let pending: HookName = { kind: "beforeServing", hook: "", text: "" };
  let timedOut = false;
  const failed = (what: string, cause?: unknown) =>
    new StartupError(
      `Startup failed: ${pending.text} ${what}`,
      pending.hook,
      cause === undefined ? undefined : { cause },
    );

  const advance = async (): Promise<void> => {
    for (const unit of units) {
      // afterServing hooks sit below the unit's generators: they run after those are resumed.
      unit.after.forEach((hook, index) =>
        stack.push({ name: nameHook("afterServing", hook, index), hook })
      );
      for (const [index, hook] of unit.before.entries()) {
        pending = nameHook("beforeServing", hook, index);
        try {
          await run.hook(pending, hook);
        } catch (error) {
          throw failed(`threw: ${messageOf(error)}`, error);
        }
        if (timedOut) return;
      }
      for (const [index, generatorFunction] of unit.while.entries()) {
        pending = nameHook("whileServing", generatorFunction, index);
        let iterator: ServingIterator;
        let result: IteratorResult<unknown>;
        try {
          const started = generatorFunction();
          if (!isIterator(started)) {
            throw new TypeError(
              `${pending.text} must be a generator function, got a function returning ${typeof started}`,
            );
          }
          iterator = started;
          result = await run.hook(pending, () => started.next());
        } catch (error) {
          throw failed(`threw: ${messageOf(error)}`, error);
        }
        if (timedOut) {
          // Startup was abandoned while this generator started: close it as it would have been.
          if (!result.done) await iterator.return(undefined);
          return;
        }
        if (result.done) throw failed("returned without yielding");
        stack.push({ name: pending, iterator });
      }
    }
  };

  try {
    await withTimeout(advance(), timeout, () => {
      timedOut = true;
      return new StartupError(
        `Startup timed out after ${timeout} ms: ${pending.text} was still pending`,
        pending.hook,
      );
    });
  } catch (error) {
    run.stopWatching();
    await rollback(stack, timeout, log);
    throw error;
  }
  return { stack, timings: run.timings };
}

/** Closes started generators, last first, so their `finally` blocks run. */
async function rollback(stack: readonly Teardown[], timeout: number, log: Logger): Promise<void> {
  for (const step of stack.toReversed()) {
    if (!("iterator" in step)) continue;
    try {
      await withTimeout(
        Promise.resolve(step.iterator.return(undefined)),
        timeout,
        () => new Error(`${step.name.text} did not close within ${timeout} ms`),
      );
    } catch (error) {
      log.error(
        `Error while closing ${step.name.text} after a failed startup: ${messageOf(error)}`,
        {
          hook: step.name.hook,
          err: error,
        },
      );
    }
  }
}

/** What a shutdown collected: the errors, and one line for each naming the step. */
export interface TeardownFailures {
  readonly errors: unknown[];
  readonly lines: string[];
  /** A step ran past its timeout: it was left running, holding whatever it holds. */
  timedOut: boolean;
  /** Each step that finished, and how long it took. */
  readonly timings: HookTiming[];
}

/**
 * Unwinds the teardown stack, last in first out: resumes each generator past its `yield`, runs
 * each `afterServing` hook. Every step runs, each bounded by `timeout`.
 */
export async function runShutdown(
  stack: readonly Teardown[],
  timeout: number,
  log: Logger,
  app: object,
): Promise<TeardownFailures> {
  const run = new PhaseRun(app, "shutdown", log);
  const failures: TeardownFailures = {
    errors: [],
    lines: [],
    timedOut: false,
    timings: run.timings,
  };
  for (const step of stack.toReversed()) {
    try {
      await run.hook(
        step.name,
        () =>
          withTimeout(runTeardown(step), timeout, () => {
            failures.timedOut = true;
            return failure(`${step.name.text} did not finish within ${timeout} ms`);
          }),
      );
    } catch (error) {
      failures.errors.push(error);
      failures.lines.push(
        ownFailures.has(error as object)
          ? messageOf(error)
          : `${step.name.text} threw: ${messageOf(error)}`,
      );
    }
  }
  return failures;
}

/** Errors the lifespan itself raised, whose message already names the step. */
const ownFailures = new WeakSet<object>();

function failure(message: string): Error {
  const error = new Error(message);
  ownFailures.add(error);
  return error;
}

async function runTeardown(step: Teardown): Promise<void> {
  if ("hook" in step) {
    await step.hook();
    return;
  }
  const result = await step.iterator.next();
  if (!result.done) {
    await step.iterator.return(undefined);
    throw failure(
      `${step.name.text} yielded a second time: a whileServing generator yields once`,
    );
  }
}
