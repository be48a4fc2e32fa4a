/**
 * Load generators for the driver: wrk when it is installed (one C thread, so the server keeps
 * the other core), else autocannon (in the driver's own process, so its ceiling is lower and
 * ratios near it are compressed; the report names the generator).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What one load run measured. */
export interface Load {
  /** Requests answered in the run. */
  requests: number;
  /** How long the run took, in seconds. */
  seconds: number;
  /** Requests per second over the run. */
  rps: number;
  /** 99th percentile latency, in milliseconds. */
  p99: number;
  /** Responses that were not 2xx or 3xx, plus socket errors and timeouts. */
  errors: number;
}

/** How load is sent: `GET url`, or with `body`, `POST` of that JSON body. */
export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** A JSON body to `POST` (with `content-type: application/json`) instead of a `GET`. */
  body?: string;
}

/** A load generator, by name. */
export interface LoadGenerator {
  readonly name: string;
  run(options: LoadOptions): Promise<Load>;
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Reads what `wrk --latency` prints. */
export function parseWrk(output: string): Load {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),/m.exec(output);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(output);
  if (total === null || rps === null || p99 === null) {
    throw new Error(`Cannot read wrk's output:\n${output}`);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total[1]),
    seconds: Number(total[2]) * (UNITS[total[3] ?? "s"] ?? 1000) / 1000,
    rps: Number(rps[1]),
    p99: Number(p99[1]) * (UNITS[p99[2] ?? "ms"] ?? 1),
    errors: Number(non2xx?.[1] ?? 0) + socketErrors,
  };
}

/** A wrk script that POSTs `body` as JSON; returns its path and a function that removes it. */
function postScript(body: string): { path: string; remove: () => void } {
  const directory = mkdtempSync(join(tmpdir(), "bench-wrk-"));
  const path = join(directory, "post.lua");
  writeFileSync(
    path,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n` +
      `wrk.headers["Content-Type"] = "application/json"\n`,
  );
  return { path, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

const wrk: LoadGenerator = {
  name: "wrk",
  run({ url, connections, seconds, body }) {
    const script = body === undefined ? undefined : postScript(body);
    const args = [
      "-t1",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      ...(script === undefined ? [] : ["-s", script.path]),
      url,
    ];
    return new Promise<Load>((resolve, reject) => {
      const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
      // wrk stops itself after `seconds`; this only guards against a wedged run.
      const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 15) * 1000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${output}`));
        else {
          try {
            resolve(parseWrk(output));
          } catch (error) {
            reject(error);
          }
        }
      });
    }).finally(() => script?.remove());
  },
};

const autocannon: LoadGenerator = {
  name: "autocannon",
  async run({ url, connections, seconds, body }) {
    const { default: run } = await import("autocannon");
    const result = await run({
      url,
      connections,
      duration: seconds,
      ...(body === undefined
        ? {}
        : { method: "POST", body, headers: { "content-type": "application/json" } }),
    });
    return {
      requests: result.requests.total,
      seconds: result.duration || seconds,
      rps: result.requests.total / (result.duration || seconds),
      p99: result.latency.p99,
      errors: result.non2xx + result.errors + result.timeouts,
    };
  },
};

/** wrk if it is on PATH, else autocannon; `preferred` forces one. */
export function loadGenerator(preferred?: string): LoadGenerator {
  if (preferred === "autocannon") return autocannon;
  const found = spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined;
  if (preferred === "wrk" && !found) {
    throw new Error("wrk is not installed (Debian: apt-get install wrk)");
  }
  return found ? wrk : autocannon;
}
