/**
 * `serve()` and `run()` on a runtime: the service that fits the options (this process, a
 * worker, or the primary of workers) run through the one lifecycle.
 *
 * @module
 */
import { lifespanOf } from "../core/lifespan.ts";
import { consoleLogger, messageOf } from "../core/log.ts";
import { checkFunction, checkKnownOptions, describeValue } from "../core/options.ts";
import { StartupError } from "../core/errors.ts";
import type { Runtime } from "../runtimes/types.ts";
import { exitCodes, RELOAD, type Running, startLifecycle } from "./lifecycle.ts";
import { resolveOptions, SERVE_OPTIONS, type Settings } from "./settings.ts";
import { singleService } from "./single.ts";
import type { LifecycleLevel } from "./told.ts";
import type { Fetchable, ServeOptions, Server } from "./types.ts";
import type { PrimaryLink } from "./worker.ts";

/** Serves `app` on `runtime`: the one implementation of `serve()` behind every entry. */
export async function serveOn(
  runtime: Runtime,
  app: Fetchable,
  options: ServeOptions = {},
): Promise<Server> {
  return (await start(runtime, app, options, false)).server;
}

/**
 * Starts the service that fits the options. At a terminal (`run()`), or with a logger given
 * (to the app or to `serve()`), the lines that say the server started and stopped are logged at
 * `info`; `serve()` on the default console keeps them at `debug`, out of the program's output.
 */
async function start(
  runtime: Runtime,
  app: Fetchable,
  options: ServeOptions,
  terminal: boolean,
): Promise<Running> {
  if (typeof app?.fetch !== "function") {
    throw new TypeError(`serve() expects an app with a fetch method, got ${describeValue(app)}`);
  }
  const settings = resolveOptions((name) => runtime.env(name), options);
  if (settings.unix !== undefined && !runtime.workersShareSocket) await checkUnixAlone(settings);
  const log = settings.logger ?? lifespanOf(app)?.log ?? consoleLogger;
  const level: LifecycleLevel = terminal || log !== consoleLogger ? "info" : "debug";
  const lifecycle = {
    runtime,
    log,
    handleSignals: settings.handleSignals,
    signalEchoes: true,
    signal: settings.signal,
    onListen: settings.onListen,
  };
  // With workers, the same script runs in their primary (which runs no lifespan) and in each
  // worker, which serves as a single process would and reports to the primary. (The worker
  // link, the primary and the hot-reload registry are loaded only by the runs that use them.)
  // `maxRequests` runs workers even when there is to be one: it is replaced as a reload does.
  const withWorkers = settings.workers !== 1 || settings.maxRequests !== undefined;
  const link = withWorkers ? await joinPrimaryIfWorker(runtime) : undefined;
  if (link !== undefined) {
    const service = singleService(runtime, app, settings, log, level, link);
    // The primary asks it to stop over the IPC channel: each signal it gets is the user's.
    return await startLifecycle(service, {
      ...lifecycle,
      signalEchoes: false,
      ignoreHangup: true,
      reloadUnavailable: "Cannot reload: this process is a worker; reload its primary " +
        "(SIGHUP, or server.reload() there)",
      stopSources: [(requestStop) => link.onStopRequest(requestStop)],
      onListen: undefined, // the primary's, once every worker listens
    });
  }
  if (withWorkers) {
    const { primaryService, workerCount } = await import("./primary.ts");
    const count = await workerCount(settings.workers);
    if (count > 1 || settings.maxRequests !== undefined) {
      return await startLifecycle(primaryService(runtime, settings, count, log), lifecycle);
    }
  }
  if (!runtime.hot) {
    return await startLifecycle(singleService(runtime, app, settings, log, level), lifecycle);
  }
  // `bun --hot` evaluated the modules anew: the server of the previous version stops first.
  const { register, retirePrevious } = await import("./hot.ts");
  const place = settings.unix ?? `${settings.hostname}:${settings.port}`;
  await retirePrevious(place);
  const running = await startLifecycle(
    singleService(runtime, app, settings, log, level),
    lifecycle,
  );
  register(place, running);
  return running;
}

/** The link to the primary when this process is one of its workers. */
async function joinPrimaryIfWorker(runtime: Runtime): Promise<PrimaryLink | undefined> {
  const { joinPrimary, WORKER_ENV } = await import("./worker.ts");
  return joinPrimary(runtime.env(WORKER_ENV));
}

/**
 * Where each worker binds a socket of its own (`reusePort`: Deno, Bun), a unix socket, which
 * has no `reusePort`, can be served by one process only: a `TypeError` if workers would run.
 */
async function checkUnixAlone({ unix, workers, maxRequests }: Settings): Promise<void> {
  const count = workers === 1 ? 1 : await (await import("./primary.ts")).workerCount(workers);
  if (count === 1 && maxRequests === undefined) return;
  const asked = count > 1
    ? `workers ${describeValue(workers)}`
    : `maxRequests ${maxRequests} (which runs workers)`;
  throw new TypeError(
    "unix with workers needs workers that share one socket, as node:cluster's do on Node: " +
      "here each worker binds its own with reusePort, which a unix socket does not have; got " +
      `unix ${describeValue(unix)} and ${asked}`,
  );
}

/** `serve()` for a person at a terminal: the implementation of `app.run()`. */
export async function runOn(
  runtime: Runtime,
  app: Fetchable,
  options: ServeOptions = {},
): Promise<void> {
  // Checked before `onListen` is wrapped and the rest spread into serve()'s options: `null` or
  // a number would spread to nothing and serve on the defaults, and a bad `onListen` would
  // only fail inside the wrapper, once already serving.
  checkKnownOptions("run()", options, SERVE_OPTIONS);
  if (options.onListen !== undefined) checkFunction("onListen", options.onListen);
  const { onListen } = options;
  // Where every line goes, this one too: with a logger given, nothing goes to the console
  // (with the default, `info` is `console.info`, on stdout as `console.log` is).
  const log = options.logger ?? lifespanOf(app)?.log ?? consoleLogger;
  let running: Running;
  try {
    running = await start(runtime, app, {
      ...options,
      onListen: (info) => {
        log.info(`Running on ${info.url} (CTRL + C to quit)`, { url: info.url });
        onListen?.(info);
      },
    }, true);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    const hook = error instanceof StartupError ? ` (${error.hook})` : "";
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
    log.error(`${messageOf(error)}${hook}`, cause === undefined ? {} : { err: cause });
    runtime.exit((typeof error === "object" && error !== null && exitCodes.get(error)) || 1);
  }
  // `bun --hot` reloads the modules only once the main module has evaluated: under it, run()
  // resolves once serving, instead of holding that evaluation (a top-level `await`) until the
  // server stops.
  const ended = running.stopped.then((report) => {
    // Replaced by the next version of the app (`bun --hot`): the process goes on.
    if (report.reason === RELOAD) return;
    // A clean stop lets the event loop empty by itself (beforeExit handlers and flushes run).
    // After requests were cut at the end of the grace period, or teardown steps or background
    // tasks were abandoned past their timeouts, what was left running may keep it busy for as
    // long as it likes: a person at a terminal wants the process to end.
    if (report.leftRunning) runtime.exit("error" in report ? 1 : 0);
    runtime.exitWhenDone?.("error" in report ? 1 : 0);
  });
  if (!runtime.hot) await ended;
}
