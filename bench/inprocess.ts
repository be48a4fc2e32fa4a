/**
 * In-process worker, run by `run.ts` on one runtime, timing one `Case` only: each case lives
 * in its own process, so that process-wide costs of one (Node 20 turns on promise hooks for
 * every promise once an `AsyncLocalStorage` is used) never leak into another, and each keeps
 * its own JIT feedback and garbage. The driver sends one JSON `Command` per line on stdin and
 * reads one JSON reply per line; stdin closing ends the worker.
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { type Case, CASES, type Command, type HeapReply, type TimeReply } from "./_protocol.ts";

type Operation = () => Promise<unknown>;

function collectGarbage(): void {
  const scope = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (scope.gc) scope.gc();
  else if (scope.Bun) scope.Bun.gc(true);
  else throw new Error("No GC to call: run with --expose-gc (Node) or --v8-flags=--expose-gc");
}

async function timeFor(ms: number, operation: Operation): Promise<TimeReply> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  let now = start;
  // Check the clock once per batch, not per operation: its cost would be part of the result.
  while (now < end) {
    for (let i = 0; i < 16; i++) await operation();
    ops += 16;
    now = performance.now();
  }
  const { user, system } = process.cpuUsage(cpu);
  return { ops, ms: now - start, cpuMs: (user + system) / 1000 };
}

async function setUp(which: Case): Promise<Operation> {
  if (which === "hono.request") {
    const { honoApp } = await import("./apps/hono.ts");
    const app = honoApp();
    return async () => await (await app.request("/")).text();
  }
  const { lifespanApp } = await import("./apps/lifespan.ts");
  const app = lifespanApp();
  // testApp() needs an app that is not started; the others time a started one.
  if (which === "app.testApp") return async () => await (await app.testApp()).shutdown();
  await app.startup();
  if (which === "app.request") return async () => await (await app.request("/")).text();
  const client = app.testClient();
  return async () => await (await client.get("/")).text();
}

async function heap(batches: number, cycles: number): Promise<HeapReply> {
  const { lifespanApp } = await import("./apps/lifespan.ts");
  const app = lifespanApp();
  // One cycle as a test runs it: startup, a request through its test client, shutdown.
  const cycle = async () => {
    const testApp = await app.testApp();
    try {
      await (await testApp.testClient().get("/")).text();
    } finally {
      await testApp.shutdown();
    }
  };
  // Warm up before the baseline: JIT tiers and inline caches grow the heap at first, then stop.
  for (let i = 0; i < 2000; i++) await cycle();
  const heapUsed: number[] = [];
  const measure = async () => {
    await new Promise((resolve) => setTimeout(resolve, 0)); // let finished work be collectable
    collectGarbage();
    collectGarbage();
    heapUsed.push(process.memoryUsage().heapUsed);
  };
  await measure();
  for (let batch = 0; batch < batches; batch++) {
    for (let i = 0; i < cycles; i++) await cycle();
    await measure();
  }
  return { heapUsed };
}

const which = process.argv[2] ?? "";
if (!(which in CASES)) {
  throw new TypeError(`Expected a case (${Object.keys(CASES).join(", ")}), got ${which}`);
}
const operation = await setUp(which as Case);
console.log("ready");
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  const reply = command.op === "heap"
    ? await heap(command.batches, command.cycles)
    : await timeFor(command.ms, operation);
  console.log(JSON.stringify(reply));
}
