/**
 * Why `POST /orders` costs Deno more CPU in some processes than in others: a reproduction that
 * uses neither this library nor Hono nor a server.
 *
 *     node --import tsx bench/deno_timer_gc.ts [--ops-ms=3000] [--rounds=3]
 *
 * 50 loops each await a 1 ms step, over and over, as 50 connections of the realistic route do,
 * in a Deno process of its own, with V8's `--trace-gc-nvp`. Each variant is run with and without
 * 100,000 objects made at startup and dropped before the loops begin (any app's start leaves
 * some old space behind). Printed: the bytes young-generation collections promote to old space
 * once the first full collection has run, the full collections after it, and the steps done per
 * second of the process's CPU time (all threads, from Linux's /proc), and that rate over the
 * same variant's without startup garbage, run just before it; medians of `rounds` such pairs.
 *
 * Variants: `setTimeout` (each step its own timer, as the route's), `Map` (one shared timer,
 * but each step also set in and deleted from a `Map`, as Deno's timers are kept in one), and
 * `shared` (one shared timer, no `Map`). What it showed on Deno 2.9.6: with a full collection
 * behind it, each `setTimeout` or `Map` step leaves garbage that later collections promote (MBs
 * per collection, a full collection every second or so); without one, none. A tiny server, as
 * the bench's bare one, never gets a full collection, so never pays it; a process that loaded
 * more at startup (srvx, this library, or the bare server with this library merely imported)
 * does. See docs/benchmarks.md, "What costs".
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./_child.ts";
import { median } from "./_report.ts";

const { values } = parseArgs({
  options: {
    "ops-ms": { type: "string", default: "3000" },
    rounds: { type: "string", default: "3" },
  },
});
const opsMs = Number(values["ops-ms"]);
const rounds = Number(values.rounds);

/** The program each Deno child runs: `deno run script <variant> <junk>`. */
const SCRIPT = `
const [variant, junkCount] = Deno.args;
let junk = Array.from({ length: Number(junkCount) }, (_, i) => ({ i, s: String(i) }));
await new Promise((resolve) => setTimeout(resolve, 300));
junk = undefined;
let waiting = [];
let tick;
const sharedTick = (resolve) => {
  waiting.push(resolve);
  tick ??= setTimeout(() => {
    tick = undefined;
    const due = waiting;
    waiting = [];
    for (const resolve of due) resolve();
  }, 1);
};
const active = new Map();
let nextId = 1;
const step = {
  setTimeout: (resolve) => setTimeout(resolve, 1),
  Map: (resolve) => {
    const id = nextId++;
    active.set(id, resolve);
    sharedTick(() => { active.delete(id); resolve(); });
  },
  shared: sharedTick,
}[variant];
const end = Date.now() + ${opsMs};
let ops = 0;
async function loop() {
  while (Date.now() < end) {
    const state = { ops: ops++, data: new Array(20).fill(ops) };
    await new Promise(step);
    state.data[0]++;
  }
}
// utime + stime of every thread, in clock ticks (100 a second), from Linux's /proc.
const cpuTicks = () => {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
const before = cpuTicks();
await Promise.all(Array.from({ length: 50 }, loop));
console.log("ops " + ops + " cpu " + (cpuTicks() - before));
`;

interface Result {
  promotedKbPerScavenge: number;
  fullAfterFirst: number;
  opsPerCpuSecond: number;
}

/** Runs one variant in a Deno child and reads its GC trace and its CPU time from /proc. */
async function runVariant(script: string, variant: string, junk: number): Promise<Result> {
  const deno = join(ROOT, "node_modules/.bin/deno");
  const child = spawn(
    deno,
    ["run", "--allow-all", "--v8-flags=--trace-gc-nvp", script, variant, `${junk}`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
  // The loops end by themselves after --ops-ms; this only guards against a wedged child.
  const guard = setTimeout(() => child.kill("SIGKILL"), opsMs + 30_000);
  await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(guard);
  const [, ops, cpuTicks] = /ops (\d+) cpu (\d+)/.exec(output)?.map(Number) ?? [];
  let seenFull = false;
  let fullAfterFirst = 0;
  const promoted: number[] = [];
  for (const line of output.split("\n")) {
    const kind = /"gc":"(\w+)"/.exec(line)?.[1];
    if (kind === undefined) continue;
    if (kind !== "s") {
      if (seenFull) fullAfterFirst++;
      seenFull = true;
    } else if (seenFull) {
      promoted.push(Number(/"promoted":(\d+)/.exec(line)?.[1] ?? 0));
    }
  }
  const sum = promoted.reduce((total, bytes) => total + bytes, 0);
  return {
    promotedKbPerScavenge: promoted.length === 0 ? 0 : sum / promoted.length / 1024,
    fullAfterFirst,
    opsPerCpuSecond: (ops ?? NaN) / ((cpuTicks ?? NaN) / 100),
  };
}

const directory = mkdtempSync(join(tmpdir(), "deno-timer-gc-"));
try {
  const script = join(directory, "loop.js");
  writeFileSync(script, SCRIPT);
  console.log(
    "variant      startup garbage  promoted/young GC  full GCs after first  steps/CPU s  / none",
  );
  for (const variant of ["setTimeout", "Map", "shared"]) {
    // Interleaved, without garbage then with, `rounds` times: medians, and the median ratio.
    const runs: Record<"none" | "garbage", Result[]> = { none: [], garbage: [] };
    for (let round = 0; round < rounds; round++) {
      runs.none.push(await runVariant(script, variant, 0));
      runs.garbage.push(await runVariant(script, variant, 100_000));
    }
    const ratios = runs.garbage.map((run, i) =>
      run.opsPerCpuSecond / runs.none[i]!.opsPerCpuSecond
    );
    for (const kind of ["none", "garbage"] as const) {
      const list = runs[kind];
      console.log(
        `${variant.padEnd(12)} ${(kind === "none" ? "none" : "100k objects").padEnd(16)} ` +
          `${
            median(list.map((run) => run.promotedKbPerScavenge)).toFixed(0).padStart(8)
          } KB        ` +
          `${String(median(list.map((run) => run.fullAfterFirst))).padStart(4)}                  ` +
          `${String(Math.round(median(list.map((run) => run.opsPerCpuSecond)))).padStart(11)}  ` +
          (kind === "none" ? "1.00" : median(ratios).toFixed(2)),
      );
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
