/**
 * The drain: the one sequence that ends the work in flight at shutdown, whatever holds it (a
 * server's connections, its WebSockets, a test client's sockets). Each part says how to stop
 * taking work, how to cut what is left, and how to let go of what even a cut could not end;
 * the sequence and its deadlines are here:
 *
 * grace period (let the work finish) → cut → at most `CUT_TIMEOUT` more → let go, with a warning.
 *
 * So a drain ends within `gracefulTimeout` + `CUT_TIMEOUT` whatever the peers do.
 *
 * @module
 */
import type { CutRequest } from "./events.ts";
import { type Logger, messageOf } from "./log.ts";
import { settlesWithin } from "./timers.ts";

/** How long what was cut at the end of the grace period may take to close. */
export const CUT_TIMEOUT = 1000;

/** A request in flight, kept with no more than it takes to name it if it is cut. */
export interface InFlightRequest {
  /** Its method. */
  readonly method: string;
  /** Its URL as received: a path with its query (Node), or an absolute URL. */
  readonly url: string;
  /** When it began, by `Date.now()` (the cheapest clock, and milliseconds are enough here). */
  readonly startedAt: number;
}

/** What a part holds open, as far as it can tell. */
export interface OpenWork {
  /** The requests in flight. */
  readonly requests?: readonly InFlightRequest[];
  /** The open connections (where the runtime tells: Node). */
  readonly connections?: number;
  /** The open WebSockets. */
  readonly websockets?: number;
}

/** What the parts of a drain hold open, added up. */
export interface OpenCounts {
  readonly requests: number;
  readonly connections?: number;
  readonly websockets: number;
}

/** Adds up what `parts` hold open now: for the line that says a shutdown begins. */
export function countOpen(parts: readonly Drainable[]): OpenCounts {
  let requests = 0;
  let connections: number | undefined;
  let websockets = 0;
  for (const part of parts) {
    const open = part.open?.();
    requests += open?.requests?.length ?? 0;
    if (open?.connections !== undefined) connections = (connections ?? 0) + open.connections;
    websockets += open?.websockets ?? 0;
  }
  return connections === undefined
    ? { requests, websockets }
    : { requests, connections, websockets };
}

/**
 * The path of a request's `url` (absolute, or a path already), without its query string and
 * fragment, or with its query string if `query`: what a log line names, since a query can carry
 * secrets. Read without `new URL()`, which a line per request should not pay for.
 */
export function pathOf(url: string, query = false): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* "/" */) {
    const scheme = url.indexOf("://");
    if (scheme < 0) return url; // "*" (OPTIONS), or a form no client sends
    start = url.indexOf("/", scheme + 3);
    if (start < 0) {
      const mark = url.indexOf("?", scheme + 3);
      return query && mark >= 0 ? `/${url.slice(mark)}` : "/";
    }
  }
  let end = url.indexOf("#", start);
  if (end < 0) end = url.length;
  if (!query) {
    const mark = url.indexOf("?", start);
    if (mark >= 0 && mark < end) end = mark;
  }
  return start === 0 && end === url.length ? url : url.slice(start, end);
}

/** `1 request`, `3 requests`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** At most this many cut requests are named one by one; the rest are counted on one line. */
const NAMED_CUTS = 50;

/** Work in flight that a shutdown drains. */
export interface Drainable {
  /** Stops taking new work and lets the work in flight finish; resolves once none is left. */
  drain(): Promise<void>;
  /** Ends what is still running once the grace period is over. */
  cut(reason: Error): void;
  /** Stops waiting for what the cut did not end: none of it may keep the process alive. */
  abandon?(): void;
  /** What is still open, for the warning when it is abandoned, e.g. `2 WebSocket(s)`. */
  describe(): string;
  /** What it holds open now: counted when shutdown begins, named when the grace period ends. */
  open?(): OpenWork;
}

/** How a drain ended. */
export interface DrainReport {
  /** Work was still running at the end of the grace period and was cut. */
  readonly cut: boolean;
  /** Even the cut did not end everything within `CUT_TIMEOUT`: the rest was let go. */
  readonly abandoned: boolean;
}

/** What was cut at the end of the grace period, as the warnings name it. */
export interface Cut {
  readonly requests: CutRequest[];
  readonly websockets: number;
}

/** How `drain()` may be tuned: the cut's own deadline, and who else hears of the cut. */
export interface DrainOptions {
  /** How long what was cut may take to close (`CUT_TIMEOUT`). */
  readonly cutTimeout?: number;
  /** Told what was cut, after the warnings (a server publishes it on its channel). */
  readonly onCut?: (cut: Cut) => void;
}

/**
 * Drains `parts` together, within `gracefulTimeout` ms plus `cutTimeout` at most. Never rejects:
 * a part that fails to drain, cut or let go is logged, and the sequence goes on for the others.
 */
export async function drain(
  parts: readonly Drainable[],
  gracefulTimeout: number,
  log: Logger,
  { cutTimeout = CUT_TIMEOUT, onCut }: DrainOptions = {},
): Promise<DrainReport> {
  const open = new Set(parts);
  const drained = Promise.all(parts.map(async (part) => {
    try {
      await part.drain();
    } catch (error) {
      // Whatever failed, nothing is left to wait for there.
      log.error(`Error while draining: ${messageOf(error)}`, { err: error });
    } finally {
      open.delete(part);
    }
  }));
  if (await settlesWithin(drained, gracefulTimeout)) return { cut: false, abandoned: false };
  tellCut([...open], gracefulTimeout, log, onCut);
  const reason = new Error(`Response cut: the ${gracefulTimeout} ms grace period is over`);
  // One part that throws must not keep the others from being cut, nor the drain from ending:
  // the shutdown hooks run after it.
  for (const part of open) attempt(() => part.cut(reason), "cutting", part, log);
  if (await settlesWithin(drained, cutTimeout)) return { cut: true, abandoned: false };
  const remaining = [...open].map((part) => part.describe());
  for (const part of open) attempt(() => part.abandon?.(), "letting go of", part, log);
  log.warn(
    `Still open ${cutTimeout} ms after the ${gracefulTimeout} ms grace period: ${
      remaining.join(", ")
    }; shutting down anyway`,
    { open: remaining, gracefulTimeoutMs: gracefulTimeout },
  );
  return { cut: true, abandoned: true };
}

/**
 * One warning for each request cut (`Cut GET /report after 3012 ms: the 3000 ms grace period
 * is over`), up to `NAMED_CUTS`, and one for the WebSockets whose close did not finish.
 */
function tellCut(
  parts: readonly Drainable[],
  gracefulTimeout: number,
  log: Logger,
  onCut?: (cut: Cut) => void,
): void {
  const now = Date.now();
  const requests: CutRequest[] = [];
  let websockets = 0;
  for (const part of parts) {
    let open: OpenWork | undefined;
    try {
      open = part.open?.();
    } catch {
      continue; // naming what is cut must not keep it from being cut
    }
    for (const request of open?.requests ?? []) {
      const { method, url, startedAt } = request;
      requests.push({ method, path: pathOf(url), durationMs: now - startedAt });
    }
    websockets += open?.websockets ?? 0;
  }
  const over = `the ${gracefulTimeout} ms grace period is over`;
  for (const { method, path, durationMs } of requests.slice(0, NAMED_CUTS)) {
    log.warn(`Cut ${method} ${path} after ${Math.round(durationMs)} ms: ${over}`, {
      method,
      path,
      durationMs,
      gracefulTimeoutMs: gracefulTimeout,
    });
  }
  if (requests.length > NAMED_CUTS) {
    const more = requests.length - NAMED_CUTS;
    log.warn(`Cut ${plural(more, "more request")}: ${over}`, {
      requests: more,
      gracefulTimeoutMs: gracefulTimeout,
    });
  }
  if (websockets > 0) {
    log.warn(
      `Closed ${plural(websockets, "WebSocket")} whose close did not finish in time: ${over}`,
      { websockets, gracefulTimeoutMs: gracefulTimeout },
    );
  }
  onCut?.({ requests, websockets });
}

function attempt(step: () => void, doing: string, part: Drainable, log: Logger): void {
  try {
    step();
  } catch (error) {
    log.error(`Error while ${doing} ${part.describe()}: ${messageOf(error)}`, { err: error });
  }
}
