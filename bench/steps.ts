/**
 * Where the per-request time goes: each step of the request paths (`serve()`'s handler,
 * `app.request()`, `testClient().get()`) timed on its own, in one process, on the runtime that
 * runs this file. The steps alternate round by round; each prints the median nanoseconds per
 * operation of CPU time, with the range over the rounds.
 *
 *     node --import tsx bench/steps.ts [--rounds=15] [--ms=100] [--only=step,step]
 *     deno run -A bench/steps.ts …
 *     bun bench/steps.ts …
 *
 * `--count=N --only=step` runs exactly N operations of one step, after as many unmeasured ones,
 * and prints nothing: for an instruction count, which load on the machine does not change, run
 * it under callgrind, with the JIT compiling on the main thread so that it is done before the
 * counted operations:
 *
 *     valgrind --tool=callgrind --dump-before=getrusage node --single-threaded  *       --import tsx bench/steps.ts --only='handler(prebuilt)' --count=50000
 *
 * (Deno: `deno run -A --v8-flags=--single-threaded`; Bun: `BUN_JSC_useConcurrentJIT=false`.)
 * The counted operations run between two calls of `process.cpuUsage()` (getrusage), so the
 * second dump (`callgrind.out.<pid>.2`) holds exactly them: its total over N.
 *
 * Each step sets up only what it needs, but this file imports the library: on Bun, whose first
 * `AsyncLocalStorage` turns on async context tracking for every promise, and on Node 20 (promise
 * hooks, once one is used), time the plain Hono cases with `run.ts`, which gives every case a
 * process of its own.
 *
 * @module
 */
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import process from "node:process";
import { Hono } from "hono";
import { App } from "../mod.ts";
import { requestEntry, runRequest } from "../src/core/context.ts";
import { lifespanOf } from "../src/core/lifespan.ts";
import { servedByRuntime } from "../src/server/entry.ts";
import { isNode } from "../src/server/runtime.ts";
import { honoApp } from "./apps/hono.ts";
import { lifespanApp } from "./apps/lifespan.ts";

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

type Step = { sync: () => unknown } | { async: () => Promise<unknown> };

/** The started `App` and its parts, made for the steps that need them only. */
async function started() {
  const app = lifespanApp();
  await app.startup();
  return { app, handler: lifespanOf(app)!.handler!, client: app.testClient() };
}

/**
 * A route that answers with the same `Response` every time: what is left is Hono's routing and
 * the library's wrapping, without the cost (and the garbage) of making a response.
 */
const PREBUILT = new Response("Hello, World!");
const prebuilt = <A extends { get(path: string, handler: () => Response): unknown }>(app: A): A => {
  app.get("/prebuilt", () => PREBUILT);
  return app;
};

const request = new Request("http://localhost/");
const prebuiltRequest = new Request("http://localhost/prebuilt");
const constant = () => 1;
const withArgs = (a: unknown, _b: unknown, _c: unknown) => a;

/**
 * The steps, by name: each sets up what it needs (nothing of the library for the plain ones,
 * so that on Node 20 they run without promise hooks when chosen alone). `sync` steps return
 * at once; `async` ones are awaited.
 */
const STEPS: Record<string, () => Step | Promise<Step>> = {
  // app.request() and the test client, whole, as the in-process cases of run.ts time them.
  "hono.request+text": () => {
    const hono = honoApp();
    return { async: async () => await (await hono.request("/")).text() };
  },
  "app.request+text": async () => {
    const { app } = await started();
    return { async: async () => await (await app.request("/")).text() };
  },
  "bareApp.request+text": () => {
    const app = new App().get("/", (c) => c.text("Hello, World!"));
    return { async: async () => await (await app.request("/")).text() };
  },
  "startedBareApp.request+text": async () => {
    const app = new App();
    app.get("/", (c) => c.text("Hello, World!"));
    await app.startup();
    return { async: async () => await (await app.request("/")).text() };
  },
  "otherStarted.request+text": async () => {
    await new App().startup();
    const app = new App().get("/", (c) => c.text("Hello, World!"));
    return { async: async () => await (await app.request("/")).text() };
  },
  "unstartedApp.request+text": () => {
    const app = lifespanApp();
    return { async: async () => await (await app.request("/")).text() };
  },
  "bareHono.request+text": () => {
    const hono = new Hono().get("/", (c) => c.text("Hello, World!"));
    return { async: async () => await (await hono.request("/")).text() };
  },
  "testClient.get+text": async () => {
    const { client } = await started();
    return { async: async () => await (await client.get("/")).text() };
  },
  // The synchronous parts: Hono answers GET / with no promise.
  "hono.request": () => {
    const hono = honoApp();
    return { sync: () => hono.request("/") };
  },
  "app.request": async () => {
    const { app } = await started();
    return { sync: () => app.request("/") };
  },
  "hono.fetch(req)": () => {
    const hono = honoApp();
    return { sync: () => hono.fetch(request) };
  },
  "app.fetch(req)": async () => {
    const { app } = await started();
    return { sync: () => app.fetch(request) };
  },
  "handler(req)": async () => {
    const { handler } = await started();
    return { sync: () => handler(request) };
  },
  // The same with no response made: the library's wrapping against Hono's routing alone.
  "hono.fetch(prebuilt)": () => {
    const hono = prebuilt(new Hono());
    return { sync: () => hono.fetch(prebuiltRequest) };
  },
  "app.fetch(prebuilt)": async () => {
    const app = prebuilt(new App());
    await app.startup();
    return { sync: () => app.fetch(prebuiltRequest) };
  },
  "handler(prebuilt)": async () => {
    const app = prebuilt(new App());
    await app.startup();
    const handler = lifespanOf(app)!.handler!;
    return { sync: () => handler(prebuiltRequest) };
  },
  // The entry requests take (on Deno, a frame of ours: see core/context.ts), and run().
  "requestEntry(hono.fetch)": () => {
    const fetch = honoApp().fetch;
    const app = {};
    const enter = requestEntry(isNode());
    return { sync: () => enter(app, fetch, request, undefined, undefined) };
  },
  // The same, awaited with the body read: what a context costs the async work in it.
  "hono.fetch(req)+text": () => {
    const fetch = honoApp().fetch;
    return { async: async () => await (await fetch(request)).text() };
  },
  "requestEntry(hono.fetch)+text": () => {
    const fetch = honoApp().fetch;
    const app = {};
    const enter = requestEntry(isNode());
    return {
      async: async () => await (await enter(app, fetch, request, undefined, undefined)).text(),
    };
  },
  "runRequest(hono.fetch)": () => {
    const fetch = honoApp().fetch;
    const app = {};
    return { sync: () => runRequest(app, fetch, request, undefined, undefined) };
  },
  // The context alone.
  "als.run(fn)": () => {
    const storage = new AsyncLocalStorage<object>();
    const store = {};
    return { sync: () => storage.run(store, constant) };
  },
  "als.run(fn+3 args)": () => {
    const storage = new AsyncLocalStorage<object>();
    const store = {};
    return { sync: () => storage.run(store, withArgs, request, 1, 2) };
  },
  "als.run+getStore": () => {
    const storage = new AsyncLocalStorage<object>();
    const store = {};
    const get = () => storage.getStore();
    return { sync: () => storage.run(store, get) };
  },
  "als.enterWith": () => {
    const storage = new AsyncLocalStorage<object>();
    const store = {};
    // Runs each in the frame it was called in, as a request does: the enterWith stays inside.
    const enter = () => storage.enterWith(store);
    const outside = AsyncLocalStorage.snapshot();
    return { sync: () => outside(enter) };
  },
  "AsyncResource+enterWith": () => {
    const storage = new AsyncLocalStorage<object>();
    const store = {};
    const enter = () => storage.enterWith(store);
    return { sync: () => new AsyncResource("bench").runInAsyncScope(enter) };
  },
  "snapshot(fn)": () => {
    const outside = AsyncLocalStorage.snapshot();
    return { sync: () => outside(constant) };
  },
  "als.getStore (outside)": () => {
    const storage = new AsyncLocalStorage<object>();
    return { sync: () => storage.getStore() };
  },
  "servedByRuntime(undefined)": () => ({ sync: () => servedByRuntime(undefined) }),
  // What the test client builds and reads.
  "new Request(url)": () => ({ sync: () => new Request("http://localhost/") }),
  "new Request(url+init)": () => ({
    sync: () => new Request("http://localhost/", { method: "GET", headers: new Headers() }),
  }),
  "new Headers()": () => ({ sync: () => new Headers() }),
  "response.headers.getSetCookie()": () => {
    const response = new Response("Hello, World!", { headers: { "content-type": "text/plain" } });
    return { sync: () => response.headers.getSetCookie() };
  },
  "Response.text()": () => ({ async: () => new Response("Hello, World!").text() }),
  // Deno's drain: what tracking an async handler costs, against awaiting it bare.
  "promise(prebuilt)": () => ({ async: async () => await Promise.resolve(PREBUILT) }),
  "inFlight.serve(promise)": async () => {
    const { InFlight } = await import("../src/runtimes/deno/in_flight.ts");
    const inFlight = new InFlight();
    return { async: async () => await inFlight.serve(request, Promise.resolve(PREBUILT)) };
  },
  "call(fn+3 args)": () => ({ sync: () => withArgs(request, 1, 2) }),
  "als.run(new store+3 args)": () => {
    const storage = new AsyncLocalStorage<object>();
    return { sync: () => storage.run({ g: undefined }, withArgs, request, 1, 2) };
  },
  "await 1": () => ({ async: async () => await 1 }),
};

const only = option("only")?.split(",");
const unknown = only?.filter((name) => !(name in STEPS)) ?? [];
if (unknown.length > 0) {
  throw new TypeError(`Unknown step ${unknown.join(", ")}; the steps: ${Object.keys(STEPS)}`);
}
const chosen = Object.keys(STEPS).filter((name) => only === undefined || only.includes(name));
const steps = new Map<string, Step>();
for (const name of chosen) steps.set(name, await (STEPS[name] as () => Step | Promise<Step>)());
let sink: unknown;

/** Runs `count` operations of `step`. */
async function repeat(step: Step, count: number): Promise<void> {
  if ("sync" in step) {
    const op = step.sync;
    for (let i = 0; i < count; i++) sink = op();
  } else {
    const op = step.async;
    for (let i = 0; i < count; i++) sink = await op();
  }
}

/** Nanoseconds of CPU time per operation of `step`, over about `ms` milliseconds. */
async function time(step: Step, ms: number): Promise<number> {
  const batch = "sync" in step ? 1000 : 64;
  const cpu = process.cpuUsage();
  const end = performance.now() + ms;
  let ops = 0;
  while (performance.now() < end) {
    await repeat(step, batch);
    ops += batch;
  }
  const { user, system } = process.cpuUsage(cpu);
  return (user + system) * 1000 / ops;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const count = option("count");
if (count !== undefined) {
  if (chosen.length !== 1) throw new TypeError("--count needs --only with one step");
  const step = steps.get(chosen[0] as string) as Step;
  await repeat(step, Number(count)); // warm up: the JIT settles before the counted ones
  // Marks for callgrind's --dump-before=getrusage: the counted operations run between these.
  process.cpuUsage();
  await repeat(step, Number(count));
  process.cpuUsage();
} else {
  const rounds = Number(option("rounds") ?? 15);
  const ms = Number(option("ms") ?? 100);
  const samples = new Map(chosen.map((name) => [name, [] as number[]]));
  for (const name of chosen) await time(steps.get(name) as Step, ms); // warm up
  for (let round = 0; round < rounds; round++) {
    const shift = round % chosen.length;
    for (const name of [...chosen.slice(shift), ...chosen.slice(0, shift)]) {
      samples.get(name)?.push(await time(steps.get(name) as Step, ms));
    }
  }
  const runtime = "Deno" in globalThis
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : "Bun" in globalThis
    ? `bun ${process.versions.bun}`
    : `node ${process.versions.node}`;
  console.log(`${runtime}: ns of CPU time per operation, median [min–max] of ${rounds} rounds`);
  const width = Math.max(...chosen.map((name) => name.length));
  for (const name of chosen) {
    const values = samples.get(name) ?? [];
    const [low, high] = [Math.min(...values), Math.max(...values)];
    console.log(
      `${name.padEnd(width)}  ${median(values).toFixed(1).padStart(8)}  [${low.toFixed(1)}–${
        high.toFixed(1)
      }]`,
    );
  }
}
void sink;
// The started apps have no socket or timer: the process ends here.
