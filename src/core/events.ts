/**
 * Lifecycle facts published on `node:diagnostics_channel` (Deno, Bun and Node ship it), for
 * OpenTelemetry or any subscriber to turn into spans and metrics without wrapping the library.
 * Nothing is built or published while a channel has no subscriber; none of it is on the request
 * path.
 *
 * @module
 */
import diagnosticsChannel from "node:diagnostics_channel";

/**
 * The names of the channels this library publishes on (`node:diagnostics_channel`).
 *
 * - `startup`, `shutdown`, `hook`: tracing channels (`diagnostics_channel.tracingChannel(name)`),
 *   whose `start`, `end`, `asyncStart`, `asyncEnd` and `error` events carry a `PhaseMessage`
 *   (the startup phase, and the shutdown phase's teardown) or a `HookMessage` (each hook of
 *   either phase). Their subchannels are `tracing:<name>:start` and so on. `durationMs` is set
 *   by `asyncEnd`, `error` by `error`.
 * - `server`: a channel (`diagnostics_channel.channel(name)`) of `ServerMessage`s: the server
 *   listens, begins to stop, cuts work at the end of the grace period, has stopped.
 *
 * @example Print every hook's duration
 * ```ts
 * import { tracingChannel } from "node:diagnostics_channel";
 * import { DIAGNOSTICS_CHANNELS, type HookMessage } from "@lifespan/hono";
 *
 * tracingChannel<unknown, HookMessage>(DIAGNOSTICS_CHANNELS.hook).subscribe({
 *   start() {},
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd: (message) => console.log(message.phase, message.hook, message.durationMs),
 *   error() {},
 * });
 * ```
 */
export const DIAGNOSTICS_CHANNELS: {
  /** Tracing channel: an app's startup phase, its hooks included (`PhaseMessage`). */
  readonly startup: "lifespan-hono:startup";
  /** Tracing channel: an app's shutdown phase, after the drain (`PhaseMessage`). */
  readonly shutdown: "lifespan-hono:shutdown";
  /** Tracing channel: one hook of either phase (`HookMessage`). */
  readonly hook: "lifespan-hono:hook";
  /** Channel: what a server of this library did (`ServerMessage`). */
  readonly server: "lifespan-hono:server";
} = {
  startup: "lifespan-hono:startup",
  shutdown: "lifespan-hono:shutdown",
  hook: "lifespan-hono:hook",
  server: "lifespan-hono:server",
};

/** How long one hook took, in milliseconds. */
export interface HookTiming {
  /** Its function name, or its place (`beforeServing hook #2`). */
  readonly hook: string;
  /** Milliseconds, to a tenth. */
  readonly durationMs: number;
}

/** The context of a phase on the `startup` and `shutdown` tracing channels. */
export interface PhaseMessage {
  /** The app whose phase this is. */
  readonly app: object;
  /** Which phase. */
  readonly phase: "startup" | "shutdown";
  /** Set once the phase has ended (also when it failed): milliseconds, to a tenth. */
  durationMs?: number;
  /** Set once the phase has ended: each hook that ran, in the order it ran. */
  hooks?: HookTiming[];
  /** Set by the tracing channel when the phase failed. */
  error?: unknown;
}

/** The context of one hook on the `hook` tracing channel. */
export interface HookMessage {
  /** The app that runs the hook (the served one, for hooks of mounted sub-apps too). */
  readonly app: object;
  /** Which phase runs it. */
  readonly phase: "startup" | "shutdown";
  /** How it was registered. */
  readonly kind: "beforeServing" | "whileServing" | "afterServing";
  /** Its function name, or its place (`beforeServing hook #2`). */
  readonly hook: string;
  /** Set once it has ended (also when it failed): milliseconds, to a tenth. */
  durationMs?: number;
  /** Set by the tracing channel when it threw. */
  error?: unknown;
}

/** A request still running when the grace period ended, as the warning names it. */
export interface CutRequest {
  /** Its method, e.g. `GET`. */
  readonly method: string;
  /** Its path, without the query. */
  readonly path: string;
  /** How long it had run when it was cut, in whole milliseconds. */
  readonly durationMs: number;
}

/** What a server publishes on the `server` channel. */
export type ServerMessage =
  | {
    /** The socket is bound and the app serves. */
    readonly type: "listening";
    /** The app served, or undefined for a plain `fetch` object. */
    readonly app: object | undefined;
    /** Where it listens (empty when the runtime serves a default export by itself). */
    readonly url: string;
  }
  | {
    /** Shutdown begins: the server stops taking work and drains. */
    readonly type: "stopping";
    readonly app: object | undefined;
    /** What asked for it: a signal's name, `server.shutdown()`, `options.signal`, a reload. */
    readonly reason: string;
    /** Requests in flight (their handler running, or their response still being sent). */
    readonly requests: number;
    /** Open connections, where the runtime tells (Node). */
    readonly connections?: number;
    /** Open WebSockets, which the drain closes with 1001. */
    readonly websockets: number;
  }
  | {
    /** The grace period is over with work left: it is cut. */
    readonly type: "cut";
    readonly app: object | undefined;
    /** The requests cut. */
    readonly requests: readonly CutRequest[];
    /** WebSockets still closing, whose connections are dropped. */
    readonly websockets: number;
    /** The grace period that ended, in milliseconds. */
    readonly gracefulTimeoutMs: number;
  }
  | {
    /** The server has stopped: drained, and the app shut down. */
    readonly type: "stopped";
    readonly app: object | undefined;
    readonly reason: string;
    /** From the stop request to the end, in milliseconds. */
    readonly durationMs: number;
    /** The drain, in milliseconds. */
    readonly drainMs: number;
    /** The app's shutdown phase (background tasks and teardown hooks), in milliseconds. */
    readonly teardownMs: number;
    /** Work was still running at the end of the grace period and was cut. */
    readonly cut: boolean;
    /** An error stopped it (a teardown step failed). */
    readonly failed: boolean;
  };

/** The part of a `TracingChannel` used here: every runtime's has it. */
interface Tracing<Context extends object> {
  readonly start: { readonly hasSubscribers: boolean };
  readonly end: { readonly hasSubscribers: boolean };
  readonly asyncStart: { readonly hasSubscribers: boolean };
  readonly asyncEnd: { readonly hasSubscribers: boolean };
  readonly error: { readonly hasSubscribers: boolean };
  tracePromise<T>(fn: () => Promise<T>, context: Context): Promise<T>;
}

function tracing<Context extends object>(name: string): Tracing<Context> | undefined {
  // A runtime without tracing channels publishes no phase or hook events (none is known today).
  return typeof diagnosticsChannel.tracingChannel === "function"
    ? diagnosticsChannel.tracingChannel(name) as unknown as Tracing<Context>
    : undefined;
}

const startupChannel = tracing<PhaseMessage>(DIAGNOSTICS_CHANNELS.startup);
const shutdownChannel = tracing<PhaseMessage>(DIAGNOSTICS_CHANNELS.shutdown);
const hookChannel = tracing<HookMessage>(DIAGNOSTICS_CHANNELS.hook);
const serverChannel = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.server);

// Read on each call, not `TracingChannel.hasSubscribers`, which not every runtime has.
function listened(channel: Tracing<object> | undefined): channel is Tracing<object> {
  return channel !== undefined &&
    (channel.start.hasSubscribers || channel.end.hasSubscribers ||
      channel.asyncStart.hasSubscribers || channel.asyncEnd.hasSubscribers ||
      channel.error.hasSubscribers);
}

/** Milliseconds to a tenth, as every duration is published and logged in fields. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Runs `fn` (a phase or a hook) traced on its channel when that has a subscriber; `context`
 * gets `durationMs` (and a phase its `hooks`, through `finish`) before `asyncEnd`.
 */
function traced<Context extends { durationMs?: number }, T>(
  channel: Tracing<Context> | undefined,
  context: () => Context,
  fn: () => Promise<T>,
  finish?: (context: Context) => void,
): Promise<T> {
  if (!listened(channel as Tracing<object> | undefined)) return fn();
  const message = context();
  const started = performance.now();
  return channel!.tracePromise(async () => {
    try {
      return await fn();
    } finally {
      message.durationMs = roundMs(performance.now() - started);
      finish?.(message);
    }
  }, message);
}

/** Runs a phase, traced on `startup` or `shutdown`; `hooks` gives the timings at its end. */
export function tracePhase<T>(
  app: object,
  phase: "startup" | "shutdown",
  hooks: () => HookTiming[],
  fn: () => Promise<T>,
): Promise<T> {
  return traced<PhaseMessage, T>(
    phase === "startup" ? startupChannel : shutdownChannel,
    () => ({ app, phase }),
    fn,
    (message) => message.hooks = hooks(),
  );
}

/** Runs one hook, traced on `hook`. */
export function traceHook<T>(
  message: () => HookMessage,
  fn: () => Promise<T>,
): Promise<T> {
  return traced(hookChannel, message, fn);
}

/** Publishes on the `server` channel; `message` is made only when someone listens. */
export function publishServer(message: () => ServerMessage): void {
  if (serverChannel.hasSubscribers) serverChannel.publish(message());
}
