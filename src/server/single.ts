/**
 * The service of one process: the app's startup, a socket bound on the runtime, and at the end
 * the drain and the app's shutdown. Also what each worker of a primary runs.
 *
 * @module
 */
import { publishServer } from "../core/events.ts";
import { lifespanOf } from "../core/lifespan.ts";
import { type Logger, messageOf } from "../core/log.ts";
import { delay } from "../core/timers.ts";
import type { Handler, Listener, Runtime } from "../runtimes/types.ts";
import { accessLogger } from "./access_log.ts";
import type { Handover } from "./handover.ts";
import { withHealth } from "./health.ts";
import { RETIRED, type Service, startupInterrupted, type StopReport } from "./lifecycle.ts";
import { countingRequests, requestLimit } from "./max_requests.ts";
import { formatUrl, type Settings } from "./settings.ts";
import { drainTold, type LifecycleLevel, tellStopped, tellStopping } from "./told.ts";
import type { Fetchable } from "./types.ts";
import type { PrimaryLink } from "./worker.ts";

/**
 * Serves `app` in this process; `link` when this process is a worker of a primary. The lines
 * that say it started and stopped are logged at `level`.
 */
export function singleService(
  runtime: Runtime,
  app: Fetchable,
  settings: Settings,
  log: Logger,
  level: LifecycleLevel,
  link?: PrimaryLink,
): Service {
  const lifespan = lifespanOf(app);
  const secure = settings.tls !== undefined;
  let listener: Listener | undefined;
  let serving = false;
  // An App's own handler: `app.fetch` would take the request for one of the runtime's own.
  const appHandler: Handler = lifespan?.handler ?? ((request, env) => app.fetch(request, env));
  // A worker may be replaced by a reload: it hands its clients over before its drain (set at
  // its start, where handover.ts is loaded: a single process never needs it).
  let handover: Handover | undefined;

  /**
   * What the runtime calls: the handler, with the readiness endpoint in front when asked for,
   * and a worker's request count around it all when `maxRequests` is set.
   */
  const served = (handler: Handler): Handler => {
    const health = settings.health;
    const answering = health ? withHealth(handler, health.path, () => serving) : handler;
    const { maxRequests } = settings;
    if (link === undefined || maxRequests === undefined) return answering;
    const limit = requestLimit(maxRequests, settings.maxRequestsJitter);
    return countingRequests(answering, limit, () => link.maxRequestsReached(limit));
  };
  /** The app's shutdown, as a report (it never rejects), with how long it took. */
  const shutdownLifespan = async (): Promise<StopReport & { teardownMs: number }> => {
    if (lifespan === undefined) return { leftRunning: false, teardownMs: 0 };
    const { leftRunning, error, durationMs: teardownMs } = await lifespan.shutdown(
      settings.shutdownTimeout,
    );
    return error === undefined ? { leftRunning, teardownMs } : { leftRunning, error, teardownMs };
  };
  /** Until stopped, the app's own lines go where the server's go (`serve(app, { logger })`). */
  const useServerLogger = (use: boolean) => {
    if (settings.logger !== undefined) lifespan?.useServerLogger(use ? settings.logger : undefined);
  };
  /** After a failed start: what startup opened is closed, then the failure is reported. */
  const fail = async (error: unknown, undo: boolean): Promise<never> => {
    useServerLogger(false);
    if (lifespan !== undefined) lifespan.managed = false;
    if (undo) {
      const { error } = await shutdownLifespan();
      if (error !== undefined) log.error(messageOf(error), { err: error });
    }
    await link?.failed(error);
    throw error;
  };

  return {
    async start(interrupted) {
      // Loaded before the startup, not between it and `link.port()`: a port the primary sends
      // while nothing listens for it would be lost.
      if (link !== undefined) handover = (await import("./handover.ts")).handingOver(appHandler);
      useServerLogger(true);
      try {
        await lifespan?.startup(settings.startupTimeout, level);
      } catch (error) {
        return await fail(error, false);
      }
      if (lifespan !== undefined) lifespan.managed = true;
      if (interrupted.aborted) return await fail(startupInterrupted(interrupted), true);
      let port = settings.port;
      try {
        if (link !== undefined) port = await link.port(interrupted);
      } catch {
        return await fail(startupInterrupted(interrupted), true);
      }
      const { unix } = settings;
      const handler = handover?.handler ?? appHandler;
      try {
        // A worker's socket is its primary's, which cleared the path before starting workers.
        if (unix !== undefined && link === undefined) {
          await (await import("./unix.ts")).clearStaleSocket(unix);
        }
        listener = await runtime.listen({
          handler: served(handler),
          hostname: settings.hostname,
          port,
          unix,
          tls: settings.tls,
          http2: settings.http2,
          keepAliveTimeout: settings.keepAliveTimeout,
          reusePort: link !== undefined,
          log,
          ...(settings.accessLog === undefined
            ? {}
            : { onSent: accessLogger(log, settings.accessLog) }),
        });
      } catch (error) {
        const url = formatUrl(settings.hostname, port, secure, unix);
        return await fail(
          new Error(`Cannot listen on ${url}: ${messageOf(error)}`, { cause: error }),
          true,
        );
      }
      serving = true;
      link?.listening(listener.port);
      const { hostname, port: bound } = listener;
      const url = formatUrl(hostname, bound, secure, unix);
      publishServer(() => ({ type: "listening", app: lifespan?.owner, url }));
      return unix === undefined
        ? { hostname, port: bound, url }
        : { hostname, port: bound, url, unix };
    },

    async stop(reason) {
      // A worker that a reload replaced: the server as a whole goes on serving, so readiness
      // stays up, and no load balancer has to notice anything before the listener closes.
      const retired = reason === RETIRED;
      if (!retired) serving = false;
      lifespan?.beginShutdown();
      const parts = [listener!, listener!.websockets];
      const stopping = tellStopping(lifespan?.owner, reason, parts, log, level);
      let report: StopReport = { leftRunning: false };
      try {
        if (!retired && settings.shutdownDelay > 0) await delay(settings.shutdownDelay);
        if (retired) await handover?.handOver(settings.gracefulTimeout);
        const drained = await drainTold(stopping, parts, settings.gracefulTimeout);
        const { teardownMs, ...shutdown } = await shutdownLifespan();
        report = { ...shutdown, leftRunning: drained.cut || shutdown.leftRunning };
        tellStopped(stopping, {
          drainMs: drained.drainMs,
          teardownMs,
          cut: drained.cut,
          failed: "error" in report,
        });
        return report;
      } finally {
        useServerLogger(false);
        if (lifespan !== undefined) lifespan.managed = false;
        await link?.stopped(!("error" in report));
      }
    },
  };
}
