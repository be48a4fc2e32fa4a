/**
 * Throughput with 2 workers against 1, on each runtime: `serve(app, { workers })` loaded by wrk
 * on 127.0.0.1. Rounds alternate 1 and 2 workers so that drift on a shared machine falls on
 * both; the table gives the median of each and their ratio. Needs `wrk` on the PATH
 * (`apt-get install -y wrk`). Runs on its own:
 *
 *     node --import tsx bench/workers.ts [--seconds=3] [--rounds=3] [--runtimes=node,deno,bun]
 *
 * The same file is the server: `bench/workers.ts --serve <workers>` prints `ready <url>` once
 * every worker listens, and stops on SIGTERM.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { App, serve } from "../mod.ts";

type RuntimeName = "node" | "deno" | "bun";
const RUNTIMES: readonly RuntimeName[] = ["node", "deno", "bun"];
const WORKER_COUNTS = [1, 2] as const;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);

function _option(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

// --- The server ------------------------------------------------------------------------------

async function _serveBenchApp(workers: number): Promise<void> {
  // Workers run this file too: only the primary (or a single process) announces the address.
  // Read before serve(), which clears the variable (see src/adapters/_workers.ts).
  const isWorker = process.env.LIFESPAN_HONO_WORKER !== undefined;
  const app = new App().get("/", (c) => c.text("Hello, World!"));
  const server = await serve(app, { port: 0, hostname: "127.0.0.1", workers });
  if (!isWorker) console.log(`ready ${server.url}`);
  await server.finished;
}

// --- The driver ------------------------------------------------------------------------------

function _binary(name: string): string {
  const local = `${ROOT}node_modules/.bin/${name}`;
  return existsSync(local) ? local : name;
}

function _command(runtime: RuntimeName, workers: number): [string, string[]] {
  const args = [SCRIPT, "--serve", String(workers)];
  switch (runtime) {
    case "node":
      return [process.execPath, ["--import", "tsx", ...args]];
    case "deno":
      return [_binary("deno"), ["run", "-A", "--quiet", ...args]];
    case "bun":
      return [_binary("bun"), ["run", ...args]];
  }
}

/** Starts the server and resolves with its URL once every worker listens. */
function _startServer(
  runtime: RuntimeName,
  workers: number,
): Promise<{ child: ChildProcess; url: string }> {
  const [file, args] = _command(runtime, workers);
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: "production", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      const url = /^ready (\S+)$/m.exec(output)?.[1];
      if (url !== undefined) resolve({ child, url });
    });
    child.once("exit", (code) => reject(new Error(`${runtime} server exited with ${code}`)));
  });
}

function _stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    process.kill(child.pid!, "SIGTERM");
  });
}

/** Requests per second that wrk measured against `url`. */
function _wrk(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const wrk = spawn("wrk", ["-t2", "-c64", `-d${seconds}s`, url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    wrk.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
    wrk.once("error", reject);
    wrk.once("close", (code) => {
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
      if (code !== 0 || rate === undefined) reject(new Error(`wrk failed:\n${output}`));
      else resolve(Number(rate));
    });
  });
}

function _median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function _drive(): Promise<void> {
  const seconds = Number(_option("seconds", "3"));
  const rounds = Number(_option("rounds", "3"));
  const runtimes = _option("runtimes", RUNTIMES.join(",")).split(",") as RuntimeName[];
  console.log(
    `workers: ${rounds} alternating rounds of ${seconds} s per count, wrk -t2 -c64, ` +
      `${availableParallelism()} CPUs`,
  );
  const rows: string[][] = [];
  for (const runtime of runtimes) {
    const rates: Record<number, number[]> = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++) {
      // Alternate which count goes first, so that neither always runs on a warmer machine.
      const order = round % 2 === 0 ? WORKER_COUNTS : [...WORKER_COUNTS].reverse();
      for (const workers of order) {
        const { child, url } = await _startServer(runtime, workers);
        try {
          await _wrk(url, 1); // warm-up: JIT, connection set-up
          rates[workers]!.push(await _wrk(url, seconds));
        } finally {
          await _stopServer(child);
        }
      }
    }
    const one = _median(rates[1]!);
    const two = _median(rates[2]!);
    rows.push([runtime, one.toFixed(0), two.toFixed(0), (two / one).toFixed(2)]);
    console.log(
      `${runtime}: 1 worker ${rates[1]!.map(Math.round)}, 2 workers ${rates[2]!.map(Math.round)}`,
    );
  }
  const header = ["runtime", "1 worker req/s", "2 workers req/s", "2 / 1"];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length))
  );
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join("  "));
  }
}

const serveIndex = process.argv.indexOf("--serve");
if (serveIndex !== -1) await _serveBenchApp(Number(process.argv[serveIndex + 1]));
else await _drive();
