/**
 * The private internals of Deno that the Deno runtime relies on, in one place, each checked
 * when this module loads: `internals` says which ones hold, the runtime falls back where one
 * does not, and `tests/internals.test.ts` fails naming the one a Deno upgrade broke.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Buffer } from "node:buffer";
import type { AsyncFrames } from "../../core/context.ts";

/** This module is loaded on every runtime (for its async frames); it probes Deno only. */
const onDeno = "Deno" in globalThis;

/** `probe()`'s result, worked out at the first call: no probe costs a process that needs none. */
function once<T>(probe: () => T): () => T {
  let result: { value: T } | undefined;
  return () => (result ??= { value: probe() }).value;
}

/**
 * Deno sends string and byte bodies on a native fast path that wrapping them would lose, and
 * `response.body`, the only public view of a body, turns a string into a stream as well. So
 * stream bodies are told apart by Deno's own record of the body (the slot behind the symbol
 * described "response", whose `body.streamOrStatic` is the stream or the static value),
 * checked once, at the first response. Should a Deno release change that record, every body
 * is taken for a stream: slower, but never impossible to cut. `hasStreamBody()` runs for every
 * response: it reads the slot found (null: none holds) and one field, and calls nothing else
 * (bench/count.ts, instructions per `GET /` on Deno 2.9: ~385 fewer than through a probe
 * wrapper and optional chains).
 */
let responseSlot: symbol | null | undefined;

/**
 * `ReadableStream`, read once: Deno's global is a getter that loads it on first use, and a call
 * on every read (bench/count.ts: 376 instructions per `GET /json`, whose response has a body).
 */
let StreamClass: typeof ReadableStream;

type ResponseRecord = Record<symbol, { body: { streamOrStatic?: unknown } | null } | undefined>;

function peekStreamBody(response: Response, slot: symbol): boolean {
  const body = (response as unknown as ResponseRecord)[slot]?.body;
  return body != null && body.streamOrStatic instanceof StreamClass;
}

/** The slot of Deno's response record, found and checked at the first call; null if none holds. */
function recordSlot(): symbol | null {
  if (responseSlot !== undefined) return responseSlot;
  StreamClass = ReadableStream;
  const slot = Object.getOwnPropertySymbols(new Response(null))
    .find((key) => key.description === "response");
  return responseSlot = slot !== undefined &&
      peekStreamBody(new Response(new ReadableStream()), slot) &&
      !peekStreamBody(new Response("static"), slot)
    ? slot
    : null;
}

/**
 * The size of a body that is no stream, for the access log. Deno keeps a string or byte body
 * given to `new Response()` in one of three places, by how the response was made: its record
 * (`body.streamOrStatic.body`), or, on its fast paths, behind the symbols described
 * "serve fast body" and "lazy static body". Checked once, on each way to make one, at the first
 * response logged; should a Deno release change them, the access log says `bytes: null` for
 * such bodies.
 */
let fastBodySlots: (symbol | undefined)[] = [];

function sizeOf(value: unknown): number | undefined {
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  if (value instanceof Uint8Array) return value.byteLength;
  return undefined;
}

function peekStaticBodyBytes(response: Response): number | null {
  const slots = response as unknown as Record<symbol, unknown>;
  const slot = recordSlot();
  const inner = slot === null ? undefined : slots[slot];
  const body = (inner as { body?: { streamOrStatic?: { body?: unknown } } | null } | undefined)
    ?.body;
  if (body != null) return sizeOf(body.streamOrStatic?.body) ?? null;
  for (const slot of fastBodySlots) {
    const size = slot === undefined ? undefined : sizeOf(slots[slot]);
    if (size !== undefined) return size;
  }
  return 0; // no body
}

const staticSizeHolds = once(() => {
  fastBodySlots = ["serve fast body", "lazy static body"].map((description) =>
    Object.getOwnPropertySymbols(new Response("static"))
      .find((key) => key.description === description)
  );
  return fastBodySlots.every((slot) => slot !== undefined) && [
    new Response("hé"),
    new Response("hé", { status: 404 }),
    new Response("hé", { headers: { "content-type": "text/html" } }),
    new Response(new TextEncoder().encode("hé")),
    new Response(new TextEncoder().encode("hé"), { status: 201, headers: { a: "b" } }),
  ].every((response) => peekStaticBodyBytes(response) === 3) &&
    peekStaticBodyBytes(new Response(null)) === 0 &&
    peekStaticBodyBytes(new Response(null, { status: 204 })) === 0;
});

/**
 * Deno's async context, the frame that `AsyncLocalStorage` keeps its stores in: an object of
 * one key per storage, which Deno copies to enter a storage (`{ ...frame, [id]: entry }`, plus
 * a `WeakMap` entry: ~3,900 instructions per `run()`) and which follows every promise, timer
 * and callback as V8's continuation-preserved embedder data. `Deno[Deno.internal].core`'s
 * `getAsyncContext()` and `setAsyncContext()` read and replace it; the app context puts its
 * own key there directly (`core/context.ts`), which every storage's `run()` copies along.
 * Checked at load: both are functions, and a frame set with them and a storage's `run()` each
 * keep the other's entry. Should a Deno release change that, the app context keeps to
 * `AsyncLocalStorage`.
 */
function findAsyncFrames(): AsyncFrames | undefined {
  const deno = (globalThis as { Deno?: Record<symbol, unknown> & { internal?: symbol } }).Deno;
  if (deno?.internal === undefined) return undefined;
  const core = (deno[deno.internal] as { core?: Record<string, unknown> } | undefined)?.core;
  const get = core?.getAsyncContext;
  const set = core?.setAsyncContext;
  if (typeof get !== "function" || typeof set !== "function") return undefined;
  const frames = { get, set } as AsyncFrames;
  const KEY = "lifespan.probe";
  const probe = new AsyncLocalStorage<number>();
  const outside = frames.get();
  try {
    // Ours, then a storage entered inside it: both seen there.
    frames.set({ ...outside, [KEY]: 1 });
    const nested = probe.run(2, () => (frames.get() as Record<string, unknown>)?.[KEY]);
    // A storage, then ours entered inside it: its store still seen.
    frames.set(outside);
    const kept = probe.run(3, () => {
      const before = frames.get();
      frames.set({ ...before, [KEY]: 4 });
      const store = probe.getStore();
      frames.set(before);
      return store;
    });
    return nested === 1 && kept === 3 && probe.getStore() === undefined ? frames : undefined;
  } catch {
    return undefined;
  } finally {
    frames.set(outside);
    probe.disable();
  }
}

const asyncFrames = findAsyncFrames();

/** Deno's async context frames (see `findAsyncFrames`), or undefined where they do not hold. */
export function denoAsyncFrames(): AsyncFrames | undefined {
  return asyncFrames;
}

/** Which internals hold on this runtime, by the name a test reports (each probed when read). */
export const internals: {
  readonly "Response[Symbol(response)].body.streamOrStatic": boolean;
  readonly "Response[Symbol(serve fast body)], [Symbol(lazy static body)]": boolean;
  readonly "Deno[Deno.internal].core.getAsyncContext/setAsyncContext": boolean;
} = {
  get "Response[Symbol(response)].body.streamOrStatic"() {
    return onDeno && recordSlot() !== null;
  },
  get "Response[Symbol(serve fast body)], [Symbol(lazy static body)]"() {
    return onDeno && staticSizeHolds();
  },
  "Deno[Deno.internal].core.getAsyncContext/setAsyncContext": asyncFrames !== undefined,
};

/** The bytes of a body that is no stream (see `hasStreamBody`); null if not known. */
export function staticBodyBytes(response: Response): number | null {
  return staticSizeHolds() ? peekStaticBodyBytes(response) : null;
}

/** Whether `response` has a stream body (a string or byte body has not). */
export function hasStreamBody(response: Response): boolean {
  const slot = responseSlot === undefined ? recordSlot() : responseSlot;
  return slot === null ? response.body !== null : peekStreamBody(response, slot);
}
