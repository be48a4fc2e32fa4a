/**
 * The longest a stop of an example app can take, derived from the example itself, so that a
 * hook, a background task or a timing added to it is counted by the test that checks a unit's or
 * a manifest's timeout against it. Not a test file itself.
 */
import { tracingChannel } from "node:diagnostics_channel";
import process from "node:process";
import { App, DIAGNOSTICS_CHANNELS, type HookMessage, type ServeOptions } from "../mod.ts";
import { CUT_TIMEOUT } from "../src/core/drain.ts";
import { resolveOptions } from "../src/server/settings.ts";

/** What `App`'s constructor takes for `backgroundTaskTimeout` when not given (README). */
const DEFAULT_TASK_TIMEOUT = 5000;

/** The parts of a stop, each at its longest, in milliseconds, and their sum. */
export interface StopBudget {
  /** Each part: `shutdownDelay`, `gracefulTimeout`, the cut, tasks, each teardown step. */
  readonly parts: Record<string, number>;
  /** Their sum. */
  readonly neededMs: number;
}

/**
 * Evaluates the example module with `env` set and `App.prototype.run` held, so that it serves
 * nothing and gives up the app and the options it would run with; then runs that app's startup
 * and shutdown once in this process, counting its teardown steps and background tasks. The sum:
 * `shutdownDelay + gracefulTimeout + the cut (CUT_TIMEOUT) + backgroundTaskTimeout (with tasks)
 * + steps × shutdownTimeout`, as the examples' READMEs state it.
 */
export async function stopBudget(module: URL, env: Record<string, string>): Promise<StopBudget> {
  const prototype = App.prototype as unknown as {
    run(options?: ServeOptions): Promise<void>;
    addBackgroundTask(task: unknown): void;
  };
  const { run, addBackgroundTask } = prototype;
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  let captured: { app: App; options: ServeOptions } | undefined;
  let tasks = 0;
  const steps: string[] = [];
  const onHook = {
    start(message: HookMessage) {
      if (message.app === captured?.app && message.phase === "shutdown") steps.push(message.hook);
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  const hooks = tracingChannel<unknown, HookMessage>(DIAGNOSTICS_CHANNELS.hook);
  const { log } = console;
  Object.assign(process.env, env);
  prototype.run = function (this: App, options: ServeOptions = {}) {
    captured = { app: this, options };
    return Promise.resolve();
  };
  prototype.addBackgroundTask = function (this: App, task: unknown) {
    tasks++;
    addBackgroundTask.call(this, task);
  };
  hooks.subscribe(onHook);
  try {
    await import(module.href);
    if (captured === undefined) throw new Error(`${module.pathname} never called app.run()`);
    console.log = () => {}; // the example's own lines
    await captured.app.startup({ timeout: 5000 });
    await captured.app.shutdown({ timeout: 5000 });
  } finally {
    console.log = log;
    hooks.unsubscribe(onHook);
    prototype.run = run;
    prototype.addBackgroundTask = addBackgroundTask;
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const settings = resolveOptions((name) => env[name], captured.options);
  const parts: Record<string, number> = {
    shutdownDelay: settings.shutdownDelay,
    gracefulTimeout: settings.gracefulTimeout,
    cut: CUT_TIMEOUT,
    backgroundTaskTimeout: tasks > 0 ? DEFAULT_TASK_TIMEOUT : 0,
  };
  for (const step of steps) parts[`teardown step ${step}`] = settings.shutdownTimeout;
  const neededMs = Object.values(parts).reduce((sum, ms) => sum + ms, 0);
  return { parts, neededMs };
}
