/**
 * `npm run bench`: measures this library against its peers on Node, Deno and Bun, alternating
 * the peers round by round so that drift on a shared machine cancels out in the ratios, prints
 * a table and writes it as JSON to bench/results/. Load stays on 127.0.0.1; every run is
 * bounded in time and every child process stops with the driver.
 *
 * Options (after `npm run bench --`): `--quick`; `--only=inprocess,http,shutdown,startup`;
 * `--runtimes=node,deno,bun`; `--nodes=20,24,26` (the Node lines, each measured like a
 * runtime of its own: a major runs on the driver's Node when it is of that line, else on the
 * binary in .cache/node that `scripts/node-versions.mjs` keeps, or give a binary's path; by
 * default the maintained lines 22, 24 and 26); `--node=PATH`, the same as `--nodes=PATH`;
 * `--peers=bare,ours,srvx,ours-hono,ours-log` (HTTP; `ours-hono` serves the plain Hono app
 * with `serve()`, to tell the adapter's cost from the App's; `ours-log` serves with the access
 * log on, to a logger that drops its lines: its cost against `ours`); `--load=wrk|autocannon`
 * (default:
 * wrk when installed); `--rounds=N`, the rounds of the in-process and HTTP sections (10 and 3,
 * `--quick` 5 and 2).
 *
 * @module
 */
import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import process from "node:process";
import { compile } from "./_build.ts";
import { Child, nodeTarget, ROOT, type RuntimeName, type Target, versionOf } from "./_child.ts";
import { type Load, loadGenerator } from "./_load.ts";
import {
  formatTable,
  formatTargets,
  machine,
  median,
  positiveInteger,
  ratios,
  type Row,
  spread,
  writeResults,
} from "./_report.ts";
import { type Case, CASES, type Command, type HeapReply, type TimeReply } from "./_protocol.ts";
import { ORDER, ORDER_PATH } from "./apps/hono.ts";

const SECTIONS = ["inprocess", "http", "shutdown", "startup"] as const;
type Section = typeof SECTIONS[number];
const RUNTIMES: readonly RuntimeName[] = ["node", "deno", "bun"];
const BARE: Record<RuntimeName, string> = {
  node: "@hono/node-server",
  deno: "Deno.serve",
  bun: "Bun.serve",
};
const IDLE_CONNECTIONS = 100;
/** The Node lines measured by default: the maintained ones (`engines` says >= 22). */
const DEFAULT_NODE_LINES = [22, 24, 26];
/** Start → first response, ours against the bare server: at most this many ms more. */
const STARTUP_TARGET_MS: Record<RuntimeName, number> = { node: 5, deno: 3, bun: 3 };
/** The driver gives up (and kills its children) after this long, whatever happens. */
const TIME_LIMIT_MS = 15 * 60_000;

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function listOption<T extends string>(
  name: string,
  all: readonly T[],
  defaults: readonly T[] = all,
): T[] {
  const value = option(name);
  if (value === undefined) return [...defaults];
  const chosen = value.split(",");
  const unknown = chosen.filter((item) => !(all as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new TypeError(`--${name}: unknown ${unknown.join(", ")}; expected ${all.join(", ")}`);
  }
  return chosen as T[];
}

const quick = process.argv.includes("--quick");
const rounds = option("rounds") === undefined
  ? undefined
  : positiveInteger("rounds", option("rounds"));
const settings = {
  quick,
  /** In-process: rounds of one time slice per case, and the slice length. */
  inprocessRounds: rounds ?? (quick ? 5 : 10),
  sliceMs: quick ? 150 : 200,
  heapBatches: 5,
  heapCycles: 1000,
  /** HTTP: rounds of one load run per peer, each `seconds` long, after one warm-up run. */
  httpRounds: rounds ?? (quick ? 2 : 3),
  seconds: quick ? 1 : 2,
  warmupSeconds: 1,
  connections: 50,
  /** Process starts per peer for the shutdown and startup cases. */
  shutdownRuns: quick ? 3 : 5,
  startupRuns: quick ? 4 : 8,
};
const sections = listOption<Section>("only", SECTIONS);
const runtimes = listOption<RuntimeName>("runtimes", RUNTIMES);
/** The Node lines, in order, each once: `--nodes`, else `--node`, else the defaults. */
const nodeLines = [
  ...new Set(
    (option("nodes") ?? option("node") ?? DEFAULT_NODE_LINES.join(",")).split(","),
  ),
];
const targets: Target[] = runtimes.flatMap((runtime): Target[] =>
  runtime === "node" ? nodeLines.map(nodeTarget) : [{ name: runtime, runtime }]
);
const load = loadGenerator(option("load"));
const rows: Row[] = [];
const raw: Record<string, unknown> = {};

/** Peers in a different order each round, so that none always runs first or last. */
function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * GET over a fresh connection (or `agent`'s), or with `json` a POST of that body, response
 * body read; rejects on a status other than 200 or 201.
 */
function fetchText(url: string, agent?: Agent, json?: string): Promise<string> {
  const method = json === undefined ? "GET" : "POST";
  const headers = json === undefined ? {} : { "content-type": "application/json" };
  return within(
    new Promise((resolve, reject) => {
      request(url, { method, headers, agent: agent ?? false }, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => body += chunk);
        response.on(
          "end",
          () =>
            response.statusCode === 200 || response.statusCode === 201
              ? resolve(body)
              : reject(new Error(`${method} ${url}: status ${response.statusCode}`)),
        );
        response.on("error", reject);
      }).on("error", reject).end(json);
    }),
    10_000,
    `${method} ${url}`,
  );
}

// 1 and 4: app.request() on Hono and on an App, testClient(), testApp() cycles, heap.
async function inprocess(target: Target): Promise<void> {
  const runtime = target.name;
  const cases = Object.keys(CASES) as Case[];
  const workers = new Map(
    cases.map((which) => [which, new Child(target, "inprocess.ts", [which])]),
  );
  const worker = (which: Case) => workers.get(which) as Child;
  try {
    await Promise.all([...workers.values()].map((child) => child.ready()));
    const ask = async <T>(child: Child, command: Command): Promise<T> => {
      child.send(JSON.stringify(command));
      return JSON.parse(await child.nextLine(120_000)) as T;
    };
    // Operations per second of the worker's CPU time, and per second of wall-clock time.
    const rates = new Map(cases.map((which) => [which, [] as number[]]));
    const wallRates = new Map(cases.map((which) => [which, [] as number[]]));
    const time = (which: Case, ms: number) => ask<TimeReply>(worker(which), { op: "time", ms });
    for (const which of cases) await time(which, settings.sliceMs * 2); // warm up
    for (let round = 0; round < settings.inprocessRounds; round++) {
      for (const which of rotate(cases, round)) {
        const { ops, ms, cpuMs } = await time(which, settings.sliceMs);
        rates.get(which)?.push(ops / cpuMs * 1000);
        wallRates.get(which)?.push(ops / ms * 1000);
      }
    }
    const heap = await ask<HeapReply>(worker("app.testApp"), {
      op: "heap",
      batches: settings.heapBatches,
      cycles: settings.heapCycles,
    });
    raw[`inprocess.${runtime}`] = {
      opsPerCpuSecond: Object.fromEntries(rates),
      opsPerSecond: Object.fromEntries(wallRates),
      heapUsed: heap.heapUsed,
    };

    const r = (which: Case) => rates.get(which) ?? [];
    const w = (which: Case) => wallRates.get(which) ?? [];
    const compare = (ours: Case, peer: Case) => ({
      ours: median(r(ours)),
      peer: median(r(peer)),
      compare: ratios(r(ours), r(peer)),
      wall: ratios(w(ours), w(peer)),
    });
    const appRequest = compare("app.request", "hono.request");
    rows.push({
      section: "in-process",
      runtime,
      name: "app.request(): App (hooks, started) / Hono",
      unit: "ops/s",
      ...appRequest,
      target: "≥ 0.95",
      met: appRequest.compare.median >= 0.95,
    });
    rows.push({
      section: "test harness",
      runtime,
      name: "App testClient().get() / Hono app.request()",
      unit: "ops/s",
      ...compare("app.testClient", "hono.request"),
    });
    const testClient = compare("app.testClient", "app.request");
    rows.push({
      section: "test harness",
      runtime,
      name: "testClient().get() / app.request(), same App",
      unit: "ops/s",
      ...testClient,
      target: "≥ 0.95",
      met: testClient.compare.median >= 0.95,
    });
    const cycles = r("app.testApp");
    rows.push({
      section: "test harness",
      runtime,
      name: "testApp() startup+shutdown cycles/s",
      unit: "cycles/s",
      ours: median(cycles),
      compare: { kind: "value", ...spread(cycles) },
      note: `wall-clock: ${Math.round(median(w("app.testApp")))} cycles/s`,
    });
    // A leak grows the heap by the same amount every batch: fit a line through the heap after
    // each batch (least squares) and read its slope in bytes per cycle. A cycle allocates
    // kilobytes, so a leak of anything it allocates shows as far more than 50 bytes a cycle.
    const heapUsed = heap.heapUsed;
    const xs = heapUsed.map((_, i) => i * settings.heapCycles);
    const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
    const meanY = heapUsed.reduce((sum, y) => sum + y, 0) / heapUsed.length;
    const slope = xs.reduce((sum, x, i) =>
      sum + (x - meanX) * ((heapUsed[i] as number) - meanY), 0) /
      xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0);
    const first = ((heapUsed[1] as number) - (heapUsed[0] as number)) / 1024;
    rows.push({
      section: "test harness",
      runtime,
      name: `heap growth over ${settings.heapBatches} × ${settings.heapCycles} testApp() cycles`,
      unit: "B/cycle",
      ours: slope,
      compare: { kind: "value", median: slope, min: slope, max: slope },
      target: "< 50 B/cycle",
      met: slope < 50,
      note: `heap after GC, KiB: ${heapUsed.map((bytes) => Math.round(bytes / 1024)).join(" → ")}` +
        ` (first ${settings.heapCycles} cycles: ${first >= 0 ? "+" : ""}${first.toFixed(0)} KiB;` +
        ` 2000 warm-up cycles before; a cycle = testApp(), one testClient GET, shutdown())`,
    });
  } finally {
    await Promise.all([...workers.values()].map((child) => child.stop()));
  }
}

// 2: throughput and p99 latency under wrk, ours against the bare server and srvx.
const PEERS = ["bare", "ours", "srvx", "ours-hono", "ours-log"] as const;
type Peer = typeof PEERS[number];
const PEER_SCRIPTS: Record<Peer, [script: string, ...args: string[]]> = {
  bare: ["servers/bare.ts"],
  ours: ["servers/ours.ts"],
  srvx: ["servers/srvx.ts"],
  "ours-hono": ["servers/ours.ts", "hono"],
  "ours-log": ["servers/ours.ts", "access-log"],
};
/** What each HTTP row compares: [ours, peer]. `ours-hono` (opt in) splits the cost. */
const HTTP_COMPARISONS: [Peer, Peer][] = [
  ["ours", "bare"],
  ["ours", "srvx"],
  ["ours-hono", "bare"],
  ["ours", "ours-hono"],
  // The access log's cost: on, to a logger that drops its lines, against off.
  ["ours-log", "ours"],
];

/** One route under load, and the targets of `serve()` against the bare server and srvx. */
interface Route {
  /** As printed: `GET /`. */
  label: string;
  path: string;
  /** The JSON body of a POST; a GET without. */
  body?: string;
  targets: Partial<Record<Peer, number>>;
}

const ROUTES: Route[] = [
  { label: "GET /", path: "/", targets: { bare: 0.98, srvx: 1.0 } },
  { label: "GET /json", path: "/json", targets: { bare: 0.98, srvx: 1.0 } },
  {
    // The realistic route: parse a JSON body, await a 1 ms step, answer JSON.
    label: `POST ${ORDER_PATH} (JSON body, 1 ms await)`,
    path: ORDER_PATH,
    body: JSON.stringify(ORDER),
    targets: { bare: 0.99 },
  },
];

function peerLabel(peer: Peer, runtime: RuntimeName): string {
  return {
    bare: BARE[runtime],
    ours: "serve()",
    srvx: "srvx",
    "ours-hono": "serve(Hono)",
    "ours-log": "serve(accessLog)",
  }[peer];
}

async function http(target: Target): Promise<void> {
  const runtime = target.name;
  const peers = listOption<Peer>("peers", PEERS, ["bare", "ours", "srvx", "ours-log"]);
  const children = peers.map((peer) => {
    const [script, ...args] = PEER_SCRIPTS[peer];
    return new Child(target, script, args);
  });
  try {
    const urls = await Promise.all(children.map((child) => child.ready()));
    for (const { label: route, path, body, targets: goals } of ROUTES) {
      const targets = peers.map((peer, i) => ({
        peer,
        url: `${urls[i]}${path}`,
        child: children[i] as Child,
      }));
      for (const target of targets) await fetchText(target.url, undefined, body); // answers
      for (const target of targets) {
        await load.run({
          url: target.url,
          connections: settings.connections,
          seconds: settings.warmupSeconds,
          body,
        });
      }
      const runs: Partial<Record<Peer, Served[]>> = {};
      for (let round = 0; round < settings.httpRounds; round++) {
        for (const { peer, url, child } of rotate(targets, round)) {
          progress(`${runtime} ${route} ${peer} round ${round + 1}`);
          const cpuBefore = child.cpuMs();
          const result = await load.run({
            url,
            connections: settings.connections,
            seconds: settings.seconds,
            body,
          });
          const cpuAfter = child.cpuMs();
          const serverCpuMs = cpuBefore === undefined || cpuAfter === undefined
            ? NaN
            : cpuAfter - cpuBefore;
          // Requests per second of the server's CPU time: its cost per request, which other
          // work on the machine changes far less than the wall-clock rate.
          (runs[peer] ??= []).push({
            ...result,
            serverCpuMs,
            cpuRps: result.requests / serverCpuMs * 1000,
          });
        }
      }
      raw[`http.${runtime}.${route}`] = runs;
      const series = (peer: Peer, key: "rps" | "cpuRps" | "p99") =>
        (runs[peer] ?? []).map((run) => run[key]);
      const errors = Object.entries(runs)
        .map(([peer, list]) => [peer, list.reduce((sum, run) => sum + run.errors, 0)] as const)
        .filter(([, count]) => count > 0);
      const errorNote = errors.length > 0
        ? `errors: ${errors.map(([peer, count]) => `${peer} ${count}`).join(", ")}`
        : undefined;
      for (const [ours, peer] of HTTP_COMPARISONS) {
        if (!peers.includes(ours) || !peers.includes(peer)) continue;
        const goal = ours === "ours" ? goals[peer] : undefined;
        const [oursLabel, label] = [
          peerLabel(ours, target.runtime),
          peerLabel(peer, target.runtime),
        ];
        const rate = Number.isNaN(median(series(ours, "cpuRps"))) ? "rps" : "cpuRps";
        const compare = ratios(series(ours, rate), series(peer, rate));
        const wallRps = (name: Peer) => Math.round(median(series(name, "rps")));
        rows.push({
          section: "http",
          runtime,
          name: `${route} req/s: ${oursLabel} / ${label}`,
          unit: "req/s",
          ours: median(series(ours, rate)),
          peer: median(series(peer, rate)),
          compare,
          wall: ratios(series(ours, "rps"), series(peer, "rps")),
          target: goal === undefined ? undefined : `≥ ${goal.toFixed(2)}`,
          met: goal === undefined ? undefined : compare.median >= goal,
          note: [
            `wall-clock req/s ${oursLabel} ${wallRps(ours)}, ${label} ${wallRps(peer)}`,
            errorNote,
          ].filter(Boolean).join("; "),
        });
        rows.push({
          section: "http",
          runtime,
          name: `${route} p99 ms: ${oursLabel} / ${label}`,
          unit: "ms",
          ours: median(series(ours, "p99")),
          peer: median(series(peer, "p99")),
          compare: ratios(series(ours, "p99"), series(peer, "p99")),
        });
      }
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** One load run against one server, with the CPU time the server used meanwhile. */
interface Served extends Load {
  serverCpuMs: number;
  cpuRps: number;
}

/** Starts `script`, opens `count` keep-alive connections, then times SIGTERM to exit. */
async function timeShutdown(target: Target, script: string): Promise<number> {
  const runtime = target.name;
  const child = new Child(target, script);
  const agent = new Agent({ keepAlive: true, maxSockets: IDLE_CONNECTIONS });
  try {
    const url = await child.ready();
    // All requests are queued before any socket is free, so each one opens its own.
    await Promise.all(Array.from({ length: IDLE_CONNECTIONS }, () => fetchText(`${url}/`, agent)));
    const idle = Object.values(agent.freeSockets).reduce(
      (sum, list) => sum + (list?.length ?? 0),
      0,
    );
    if (idle !== IDLE_CONNECTIONS) {
      throw new Error(`Expected ${IDLE_CONNECTIONS} idle connections, got ${idle}`);
    }
    const start = performance.now();
    child.signal("SIGTERM");
    const exit = await within(child.exited, 15_000, `${runtime} ${script} shutdown`);
    const elapsed = performance.now() - start;
    if (exit.code !== 0) throw new Error(`${runtime} ${script} exited with ${exit.code}`);
    return elapsed;
  } finally {
    agent.destroy();
    await child.stop();
  }
}

// 3: SIGTERM to exit with 100 idle keep-alive connections open, ours against the bare server.
async function shutdown(target: Target): Promise<void> {
  const runtime = target.name;
  const times: Record<"ours" | "bare", number[]> = { ours: [], bare: [] };
  const scripts = { ours: "servers/ours.ts", bare: "servers/bare.ts" } as const;
  for (let run = 0; run < settings.shutdownRuns; run++) {
    for (const peer of rotate(["ours", "bare"] as const, run)) {
      times[peer].push(await timeShutdown(target, scripts[peer]));
    }
  }
  raw[`shutdown.${runtime}`] = times;
  const ours = median(times.ours);
  rows.push({
    section: "shutdown",
    runtime,
    name: `SIGTERM → exit, ${IDLE_CONNECTIONS} idle keep-alive: serve() vs ${BARE[target.runtime]}`,
    unit: "ms",
    ours,
    peer: median(times.bare),
    compare: { kind: "delta", ...spread(times.ours.map((t, i) => t - (times.bare[i] as number))) },
    target: "< 50 ms",
    met: ours < 50,
    note: `ours ${times.ours.map((t) => t.toFixed(0)).join(", ")} ms; bare ${
      times.bare.map((t) => t.toFixed(0)).join(", ")
    } ms (hooks are no-ops)`,
  });
}

/** Process start to the first response of `script`, in milliseconds. */
async function timeStartup(target: Target, script: string): Promise<number> {
  const child = new Child(target, script);
  try {
    const url = await child.ready();
    await fetchText(`${url}/`);
    return performance.now() - child.spawnedAt;
  } finally {
    await child.stop();
  }
}

// 5: process start to first response, ours against the bare server.
async function startup(target: Target): Promise<void> {
  const runtime = target.name;
  const sources = { ours: "bench/servers/ours.ts", bare: "bench/servers/bare.ts" } as const;
  // Node runs the npm package (bundled JavaScript), as from npm; Deno and Bun run the
  // TypeScript sources.
  using build = target.runtime === "node"
    ? await compile(Object.values(sources), { package: true })
    : undefined;
  const scripts = {
    ours: build?.path(sources.ours) ?? `${ROOT}${sources.ours}`,
    bare: build?.path(sources.bare) ?? `${ROOT}${sources.bare}`,
  };
  // Unmeasured first starts: fill the file cache.
  await timeStartup(target, scripts.ours);
  await timeStartup(target, scripts.bare);
  const times: Record<"ours" | "bare", number[]> = { ours: [], bare: [] };
  for (let run = 0; run < settings.startupRuns; run++) {
    for (const peer of rotate(["ours", "bare"] as const, run)) {
      times[peer].push(await timeStartup(target, scripts[peer]));
    }
  }
  raw[`startup.${runtime}`] = times;
  // Paired: each run of ours against the run of the bare server next to it.
  const delta = spread(times.ours.map((t, i) => t - (times.bare[i] as number)));
  rows.push({
    section: "startup",
    runtime,
    name: `process start → first response: serve() vs ${BARE[target.runtime]}`,
    unit: "ms",
    ours: median(times.ours),
    peer: median(times.bare),
    compare: { kind: "delta", ...delta },
    target: `≤ +${STARTUP_TARGET_MS[target.runtime]} ms`,
    met: delta.median <= STARTUP_TARGET_MS[target.runtime],
    note: target.runtime === "node"
      ? "the npm package as npm-build.ts bundles it (tsx would add ~1 ms per TypeScript module)"
      : undefined,
  });
}

const SECTION_RUNNERS: Record<Section, (target: Target) => Promise<void>> = {
  inprocess,
  http,
  shutdown,
  startup,
};

async function main(): Promise<void> {
  const started = performance.now();
  const about = machine();
  const versions = Object.fromEntries(
    await Promise.all(targets.map(async (target) => [target.name, await versionOf(target)])),
  );
  progress(
    `${targets.map((target) => target.name).join(", ")}; ${
      sections.join(", ")
    }; load: ${load.name}; ${quick ? "quick" : "full"}`,
  );
  // A case that fails (a server that does not start, say) is reported; the others still run.
  const failures: string[] = [];
  for (const section of sections) {
    for (const target of targets) {
      progress(`${section} on ${target.name}`);
      try {
        await SECTION_RUNNERS[section](target);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`${section} on ${target.name}: ${message}`);
        progress(`FAILED ${section} on ${target.name}: ${message}`);
      }
    }
  }
  const table = formatTable(rows);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n${about.cpu}, ${about.cores} cores, ${about.os}; ${
      Object.entries(versions).map(([name, version]) => `${name} ${version}`).join(", ")
    }; load: ${load.name}, ${settings.connections} connections; ${quick ? "quick" : "full"} run, ${
      seconds.toFixed(0)
    } s; load average ${Number(about.loadavgAtStart).toFixed(1)} at start, ${
      (loadavg()[0] ?? 0).toFixed(1)
    } at end\n`,
  );
  console.log(
    [
      "ours, peer: medians; rates are per second of CPU time (in-process: the worker's own;",
      "http: the server process's), which other work on the machine changes far less than",
      "wall-clock rates. ours vs peer: median of the per-round ratios [min–max], or the",
      "difference in ms; wall-clock: the same ratio over wall-clock time.\n",
    ].join("\n"),
  );
  console.log(table);
  console.log(`\ntargets:\n${formatTargets(rows)}`);
  const path = writeResults({
    date: new Date().toISOString(),
    command: process.argv.length > 2
      ? `npm run bench -- ${process.argv.slice(2).join(" ")}`
      : "npm run bench",
    machine: about,
    versions,
    loadGenerator: load.name,
    settings,
    seconds,
    loadavgAtEnd: loadavg()[0],
    rows,
    failures,
    raw,
  });
  const missed = rows.filter((row) => row.met === false).length;
  if (failures.length > 0) console.log(`\nfailed:\n  ${failures.join("\n  ")}`);
  console.log(`\n${rows.length} rows, ${missed} target(s) missed; written to ${path}`);
  if (failures.length > 0) process.exitCode = 1;
}

const limit = setTimeout(() => {
  console.error(`bench: stopped after ${TIME_LIMIT_MS / 60_000} minutes`);
  process.exit(2);
}, TIME_LIMIT_MS);
limit.unref();
try {
  await main();
} finally {
  clearTimeout(limit);
}
