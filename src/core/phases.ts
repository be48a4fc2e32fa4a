/**
 * The two phases of a lifespan, as plain functions over the registered hooks: `runStartup`
 * returns the teardown stack that `runShutdown` unwinds.
 *
 * @module
 */
import { StartupError } from "./errors.ts";
import { type Logger, messageOf } from "./log.ts";
import { withTimeout } from "./timers.ts";

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

/** One entry of the teardown stack: a generator to resume or an `afterServing` hook to run. */
export type Teardown =
  | { readonly label: string; readonly iterator: ServingIterator }
  | { readonly label: string; readonly hook: Hook };

/** How a hook is named: `hook` is its name (or its place), `text` says which kind it is. */
interface HookName {
  readonly hook: string;
  readonly text: string;
}

/** A named function by its name (`connectDb`), else by its place (`beforeServing hook #2`). */
function nameHook(kind: string, fn: { name: string }, index: number): HookName {
  if (fn.name && fn.name !== "anonymous") return { hook: fn.name, text: `${kind} hook ${fn.name}` };
  const place = `${kind} hook #${index + 1}`;
  return { hook: place, text: place };
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
): Promise<Teardown[]> {
  const stack: Teardown[] = [];
  let pending: HookName = { hook: "", text: "" };
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
        stack.push({ label: nameHook("afterServing", hook, index).text, hook })
      );
      for (const [index, hook] of unit.before.entries()) {
        pending = nameHook("beforeServing", hook, index);
        try {
          await hook();
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
          iterator = generatorFunction();
          if (!isIterator(iterator)) {
            throw new TypeError(
              `${pending.text} must be a generator function, got a function returning ${typeof iterator}`,
            );
          }
          result = await iterator.next();
        } catch (error) {
          throw failed(`threw: ${messageOf(error)}`, error);
        }
        if (timedOut) {
          // Startup was abandoned while this generator started: close it as it would have been.
          if (!result.done) await iterator.return(undefined);
          return;
        }
        if (result.done) throw failed("returned without yielding");
        stack.push({ label: pending.text, iterator });
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
    await rollback(stack, timeout, log);
    throw error;
  }
  return stack;
}

/** Closes started generators, last first, so their `finally` blocks run. */
async function rollback(stack: readonly Teardown[], timeout: number, log: Logger): Promise<void> {
  for (const step of stack.toReversed()) {
    if (!("iterator" in step)) continue;
    try {
      await withTimeout(
        Promise.resolve(step.iterator.return(undefined)),
        timeout,
        () => new Error(`${step.label} did not close within ${timeout} ms`),
      );
    } catch (error) {
      log.error(`Error while closing ${step.label} after a failed startup: ${messageOf(error)}`, {
        hook: step.label,
        err: error,
      });
    }
  }
}

/** What a shutdown collected: the errors, and one line for each naming the step. */
export interface TeardownFailures {
  readonly errors: unknown[];
  readonly lines: string[];
  /** A step ran past its timeout: it was left running, holding whatever it holds. */
  timedOut: boolean;
}

/**
 * Unwinds the teardown stack, last in first out: resumes each generator past its `yield`, runs
 * each `afterServing` hook. Every step runs, each bounded by `timeout`.
 */
export async function runShutdown(
  stack: readonly Teardown[],
  timeout: number,
): Promise<TeardownFailures> {
  const failures: TeardownFailures = { errors: [], lines: [], timedOut: false };
  for (const step of stack.toReversed()) {
    try {
      await withTimeout(runTeardown(step), timeout, () => {
        failures.timedOut = true;
        return failure(`${step.label} did not finish within ${timeout} ms`);
      });
    } catch (error) {
      failures.errors.push(error);
      failures.lines.push(
        ownFailures.has(error as object)
          ? messageOf(error)
          : `${step.label} threw: ${messageOf(error)}`,
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
    throw failure(`${step.label} yielded a second time: a whileServing generator yields once`);
  }
}
