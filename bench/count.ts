/**
 * Instructions per request of a whole server, by callgrind: `GET /` (and `GET /json`) on
 * `serve()` with the benchmark `App` (`ours`), with the plain Hono app (`ours-hono`: the
 * adapter's part), with the access log on (`ours-log`: its lines built and dropped) and on the
 * bare server, each in a process of its own, for the `GET /` target of issue 20 without the
 * run-to-run drift of rates on a shared machine.
 *
 *     node --import tsx bench/count.ts [--runtimes=node24,deno,bun] [--requests=3000]
 *       [--paths=/,/json] [--peers=bare,ours,ours-hono,ours-log] [--runs=2]
 *
 * Each server starts under `valgrind --tool=callgrind --instr-atstart=no` (Node with
 * `--single-threaded`, Deno with `--v8-flags=--single-threaded`, Bun without its concurrent
 * JIT, so that compiling is counted in the process and done early), gets as many unmeasured
 * requests first, then `callgrind_control -i on`, the counted requests (autocannon, 4
 * connections, keep-alive), `-i off` and a dump. What is counted is the server process only,
 * every thread of it. Needs valgrind (`apt-get install valgrind`); a run takes about 20 s per
 * server. Instructions are not time (no cache misses, no syscalls' own cost), but a request's
 * count moves by about 1% between runs on Deno and Bun (2–3% on Node, by its garbage
 * collector), where rates move by up to 10%. On Node, take a difference in counts to rates
 * before acting on it: the collector's work, on helper threads in a normal run, is counted here
 * on the main thread (entering the app context by `run()` counted 4–6k fewer instructions per
 * request than by a resource and `enterWith()` on Node 24, and the rates of three runs each
 * showed no difference).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { nodeTarget, ROOT, type Target } from "./_child.ts";
import { median, positiveInteger } from "./_report.ts";

const { values } = parseArgs({
  options: {
    runtimes: { type: "string", default: "node24,deno,bun" },
    requests: { type: "string", default: "3000" },
    paths: { type: "string", default: "/" },
    peers: { type: "string", default: "bare,ours,ours-hono" },
    runs: { type: "string", default: "2" },
  },
});
const requests = positiveInteger("requests", values.requests);
const runs = positiveInteger("runs", values.runs);
if (spawnSync("valgrind", ["--version"]).error !== undefined) {
  throw new Error("bench/count.ts needs valgrind on PATH (apt-get install valgrind)");
}

const PEERS: Record<string, string[]> = {
  bare: ["bench/servers/bare.ts"],
  ours: ["bench/servers/ours.ts"],
  "ours-hono": ["bench/servers/ours.ts", "hono"],
  "ours-log": ["bench/servers/ours.ts", "access-log"],
};

function targetOf(name: string): Target {
  if (name === "deno" || name === "bun") return { name, runtime: name };
  if (name.startsWith("node")) return nodeTarget(name.slice(4) || "24");
  throw new TypeError(`--runtimes: expected node<major>, deno or bun, got ${name}`);
}

/** The command that runs `script` on `target` as callgrind counts it best. */
function command(target: Target, script: string[]): string[] {
  const bin = (name: string) => `${ROOT}node_modules/.bin/${name}`;
  switch (target.runtime) {
    case "node":
      return [target.binary!, "--single-threaded", "--import", "tsx", ...script];
    case "deno":
      return [bin("deno"), "run", "-A", "--quiet", "--v8-flags=--single-threaded", ...script];
    case "bun":
      return [bin("bun"), "run", ...script];
  }
}

const load = (url: string, amount: number) =>
  new Promise<void>((resolve, reject) => {
    autocannon({ url, connections: 4, amount }, (error, result) => {
      if (error) reject(error);
      else if (result.non2xx > 0 || result.errors > 0) {
        reject(new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
      } else resolve();
    });
  });

const control = (pid: number, ...args: string[]) => {
  const result = spawnSync("callgrind_control", [...args, String(pid)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(" ")}: ${result.stderr}`);
};

/** Instructions per request of `GET path` on `script`, served on `target`. */
async function count(target: Target, script: string[], path: string): Promise<number> {
  const dir = mkdtempSync(`${tmpdir()}/lifespan-count-`);
  const child = spawn("valgrind", [
    "--tool=callgrind",
    "--instr-atstart=no",
    `--callgrind-out-file=${dir}/out`,
    ...command(target, script),
  ], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, BUN_JSC_useConcurrentJIT: "false" },
  });
  try {
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        const match = /ready (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!.replace(/\/$/, ""));
      });
      child.on("exit", (code) => reject(new Error(`${script.join(" ")} exited with ${code}`)));
    });
    await load(`${url}${path}`, requests);
    control(child.pid!, "-i", "on");
    await load(`${url}${path}`, requests);
    control(child.pid!, "-i", "off");
    control(child.pid!, "-d");
    // Each thread's dump, the part since instrumentation was turned on: their sum.
    const total = readdirSync(dir).reduce((sum, file) => {
      const totals = /^totals: (\d+)/m.exec(readFileSync(`${dir}/${file}`, "utf8"));
      return sum + Number(totals?.[1] ?? 0);
    }, 0);
    return total / requests;
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

const peers = values.peers!.split(",");
for (const peer of peers) {
  if (!(peer in PEERS)) throw new TypeError(`--peers: unknown peer ${peer}`);
}
console.log(`instructions per request (callgrind), ${requests} requests, median of ${runs} runs:`);
for (const target of values.runtimes!.split(",").map(targetOf)) {
  for (const path of values.paths!.split(",")) {
    const counts: Record<string, number> = {};
    for (const peer of peers) {
      const samples: number[] = [];
      for (let run = 0; run < runs; run++) samples.push(await count(target, PEERS[peer]!, path));
      counts[peer] = median(samples);
    }
    const bare = counts.bare;
    const cells = peers.map((peer) => {
      const ratio = bare === undefined || peer === "bare"
        ? ""
        : ` (${(bare / counts[peer]!).toFixed(3)})`;
      return `${peer} ${Math.round(counts[peer]!).toLocaleString("en")}${ratio}`;
    });
    console.log(`  ${target.name} GET ${path}: ${cells.join("  ")}`);
  }
}
