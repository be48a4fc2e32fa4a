/**
 * The app context: which app is being served, and `g`, a namespace that lives as long as the
 * current phase, request or background task.
 *
 * @module
 */
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";

/**
 * The shape of `g`. Extend it by declaration merging to type your own keys:
 *
 * ```ts ignore
 * declare module "@lifespan/hono" {
 *   interface Globals { user: { id: string } }
 * }
 * ```
 */
export interface Globals {
  /** Any value, under any key. */
  [key: string]: unknown;
}

/** What one context holds; `g` is created on first use. One shape for every context. */
class AppContext {
  g: Globals | undefined = undefined;
  constructor(readonly app: object) {}
}

const storage = new AsyncLocalStorage<AppContext>();

/**
 * A runtime's own async context, where `AsyncLocalStorage` is built on it and costs more than
 * using it directly (Deno: `runtimes/deno/_internals.ts`): the frame in force, an object of
 * one key per storage that follows every promise, timer and callback, read and replaced.
 */
export interface AsyncFrames {
  get(): object | undefined;
  set(frame: object | undefined): void;
}

/** The frame key of the app context, beside the storages' own (numbers, on Deno). */
interface Frame {
  readonly lifespanContext?: AppContext;
}

let frames: AsyncFrames | undefined;

/** The context in force. */
let current = (): AppContext | undefined => storage.getStore();

/** Runs `fn(...args)` in `context`. */
let runWith = <A extends unknown[], T>(context: AppContext, fn: (...args: A) => T, ...args: A) =>
  storage.run(context, fn, ...args);

/** A frame: `previous`'s entries (other storages' stores), and `context`. */
function frameOf(previous: object | undefined, context: AppContext): Frame {
  return previous === undefined
    ? { lifespanContext: context }
    : { ...previous, lifespanContext: context };
}

/**
 * Keeps app contexts in the runtime's own frames from now on, rather than in an
 * `AsyncLocalStorage` (which costs Deno a copy of the frame and a `WeakMap` entry per `run()`:
 * bench/steps.ts under callgrind, instructions per request on Deno 2.9, `handler(prebuilt)`:
 * 5,972 with `run()`, 2,788 with a frame of ours, against 2,507 for Hono's own `fetch`). Called
 * once, before any context is entered (`src/app.ts`, at load); with `undefined`, nothing
 * changes.
 */
export function useAsyncFrames(runtimeFrames: AsyncFrames | undefined): void {
  if (runtimeFrames === undefined || frames !== undefined) return;
  const { get, set } = frames = runtimeFrames;
  current = () => (get() as Frame | undefined)?.lifespanContext;
  runWith = (context, fn, ...args) => {
    const previous = get();
    set(frameOf(previous, context));
    try {
      return fn(...args);
    } finally {
      set(previous);
    }
  };
}

/** Runs `fn` in a new context of `app`, with a fresh `g`. */
export function runInContext<T>(app: object, fn: () => T): T {
  return runWith(new AppContext(app), fn);
}

/** Runs Hono's `fetch` for one request in a new context of `app`. */
export type RequestEntry = <E, C, R>(
  app: object,
  fetch: (request: Request, env: E, executionCtx: C) => R,
  request: Request,
  env: E,
  executionCtx: C,
) => R;

/**
 * A request's context entered with `run()`: the request path, so no closure and no rest
 * arguments of ours (measured: cheaper on Bun, no worse elsewhere).
 */
export const runRequest: RequestEntry = (app, fetch, request, env, executionCtx) =>
  storage.run(new AppContext(app), fetch, request, env, executionCtx);

/**
 * A request's context entered inside an `AsyncResource` of the request's own, which holds the
 * caller's frame and puts it back as it was when the call returns: `run()` on Node's
 * `AsyncContextFrame` (Node 24 and later) copies the frame, a `Map` of every store, once to
 * enter and once more to leave. bench/steps.ts, instructions per call on Node 24: 1,256 for a
 * resource and `enterWith()`, 3,454 for `run()`; Deno's resources cost more than its `run()`.
 */
export const runRequestInResource: RequestEntry = (app, fetch, request, env, executionCtx) => {
  const context = new AppContext(app);
  return new AsyncResource("lifespan.request").runInAsyncScope(() => {
    storage.enterWith(context);
    return fetch(request, env, executionCtx);
  });
};

/**
 * Whether a store set with `enterWith()` inside a resource's scope stays out of the resource:
 * stores live in frames that a resource only holds (Node's `AsyncContextFrame`), rather than on
 * the resource (Node's async_hooks, before Node 24), where `run()` costs little.
 */
function resourcesHoldFrames(): boolean {
  const probe = new AsyncLocalStorage<boolean>();
  const resource = new AsyncResource("lifespan.probe");
  resource.runInAsyncScope(() => probe.enterWith(true));
  const held = resource.runInAsyncScope(() => probe.getStore()) !== true;
  probe.disable(); // before Node 24, every enabled storage costs every async resource a little
  return held;
}

/**
 * A request's context entered and left in force: for a server's request callback on Node 24
 * and later, where Node puts the frame back as it was once each callback it made returns
 * (every request event its own, pipelined requests on one connection too: tests/context.test.ts,
 * "on a real server"), and every callback and promise job it runs later enters its own. No
 * frame to restore, so no resource: bench/count.ts, instructions per `GET /` of a whole server
 * (medians of 3 runs), Node 24: 106,882 with a resource, 104,144 this way, 102,492 with no
 * context at all; Node 26: 110,219 and 106,459.
 */
const enterRequest: RequestEntry = (app, fetch, request, env, executionCtx) => {
  storage.enterWith(new AppContext(app));
  return fetch(request, env, executionCtx);
};

let nodeHoldsFrames: boolean | undefined;

/**
 * A request's context entered in a frame of its own, set directly (see `useAsyncFrames`): no
 * closure and no rest arguments, as `runRequest`.
 */
const runRequestInFrame: RequestEntry = (app, fetch, request, env, executionCtx) => {
  const { get, set } = frames!;
  const previous = get();
  set(frameOf(previous, new AppContext(app)));
  try {
    return fetch(request, env, executionCtx);
  } finally {
    set(previous);
  }
};

/**
 * The cheaper way for requests to enter their context: the runtime's frames where they are in
 * use, else on Node (`node` says whether this is Node: the core knows no runtime) the one a
 * probe, made once, tells. `fromCallback`: the caller is a callback of the runtime's own (a
 * server's request event), which puts its context back once it returns; on Node 24 and later
 * the context is then entered and not left. Anyone else, `app.request()` and the test client
 * included, gets the context of the caller back as it was.
 */
export function requestEntry(node: boolean, fromCallback = false): RequestEntry {
  if (frames !== undefined) return runRequestInFrame;
  if (!node || !(nodeHoldsFrames ??= resourcesHoldFrames())) return runRequest;
  return fromCallback ? enterRequest : runRequestInResource;
}

/**
 * `fn`, bound to the context in force now: wherever it is called from later, it runs in this
 * context, with the same `g`. A WebSocket's handlers run on the runtime's socket events, which
 * would otherwise have no context (Node) or an unrelated one.
 */
export function bindContext<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
  const context = current();
  if (context === undefined) return fn;
  return (...args) => runWith(context, fn, ...args);
}

/** The context in force, or undefined outside every app context. */
export function peekContext(): { readonly app: object } | undefined {
  return current();
}

function contextFor(what: string): AppContext {
  const context = current();
  if (context === undefined) {
    throw new Error(
      `Cannot use ${what} outside an app context: use it inside a lifespan hook, a request handler or a background task`,
    );
  }
  return context;
}

/**
 * The app of the context in force, for `currentApp()`.
 *
 * @throws {Error} Outside every app context.
 */
export function contextApp(): object {
  return contextFor("currentApp()").app;
}

function globals(): Globals {
  const context = contextFor("g");
  return context.g ??= Object.create(null) as Globals;
}

/**
 * A namespace for the current context: one shared by the whole startup phase, one per request,
 * one per background task, and a fresh one for shutdown. Like Quart's `g`.
 *
 * @throws {Error} When read or written outside every app context.
 *
 * @example Keep a value for the rest of a request
 * ```ts
 * import { App, g } from "@lifespan/hono";
 *
 * const app = new App();
 * app.use(async (c, next) => {
 *   g.started = Date.now();
 *   await next();
 * });
 * app.get("/", (c) => c.text(`started at ${g.started}`));
 * ```
 */
export const g: Globals = new Proxy(Object.create(null) as Globals, {
  get: (_, key) => Reflect.get(globals(), key),
  set: (_, key, value) => Reflect.set(globals(), key, value),
  has: (_, key) => Reflect.has(globals(), key),
  deleteProperty: (_, key) => Reflect.deleteProperty(globals(), key),
  ownKeys: () => Reflect.ownKeys(globals()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(globals(), key);
    // The proxy's target is empty and extensible: its own properties must be configurable.
    return descriptor && { ...descriptor, configurable: true };
  },
  defineProperty: (_, key, descriptor) => Reflect.defineProperty(globals(), key, descriptor),
});
