/**
 * Child processes for the driver: a benchmark script on one runtime, read line by line, that
 * never outlives the driver.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** The runtimes benchmarked. */
export type RuntimeName = "node" | "deno" | "bun";

/** The repository root: children run there, so Deno finds deno.json and Node finds tsx. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill("SIGKILL");
};
process.on("exit", killAll);
// Stopped from outside: take the children along rather than leave servers running.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}

/**
 * What the children run on: Deno, Bun, or one Node binary (a release line), named as the report
 * names it (`node24`, `deno`, `bun`).
 */
export interface Target {
  /** The name in the report: `node<major>` for a Node line, else the runtime's name. */
  readonly name: string;
  readonly runtime: RuntimeName;
  /** The Node binary that runs the children (Node targets only). */
  readonly binary?: string;
}

/** The major version of the Node running the driver, e.g. 20. */
export const RUNNING_NODE_MAJOR: number = Number(process.versions.node.split(".")[0]);

function nodeMajorOf(binary: string): number {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  const major = /^v(\d+)\./.exec(result.stdout ?? "")?.[1];
  if (result.error !== undefined || major === undefined) {
    throw new Error(`${binary} is not a Node binary: ${result.error?.message ?? result.stderr}`);
  }
  return Number(major);
}

/**
 * The Node target for `line`: a major (`24`), run on the Node running the driver when it is of
 * that line, else on the binary in .cache/node/<major> that `scripts/node-versions.mjs` keeps
 * (fetched there on first use, as `npm test` does); or the path of any Node binary.
 */
export function nodeTarget(line: string): Target {
  if (line.includes("/")) {
    return { name: `node${nodeMajorOf(line)}`, runtime: "node", binary: line };
  }
  const major = Number(line);
  if (!Number.isInteger(major) || major <= 0) {
    throw new TypeError(`--nodes: expected a Node major version or a binary's path, got ${line}`);
  }
  const name = `node${major}`;
  if (major === RUNNING_NODE_MAJOR) return { name, runtime: "node", binary: process.execPath };
  const cached = `${ROOT}.cache/node/${major}/bin/node`;
  if (!existsSync(cached)) {
    // Prints its line on stderr, beside the driver's progress; fails for a line it does not keep.
    const fetched = spawnSync(process.execPath, [`${ROOT}scripts/node-versions.mjs`, `${major}`], {
      cwd: ROOT,
      stdio: ["ignore", 2, 2],
    });
    if (fetched.status !== 0 || !existsSync(cached)) {
      throw new Error(
        `No binary for Node ${major}: the driver runs on Node ${RUNNING_NODE_MAJOR}, and ` +
          `scripts/node-versions.mjs could not fetch ${major}; give its path instead`,
      );
    }
  }
  return { name, runtime: "node", binary: cached };
}

function binary(name: string): string {
  const local = `${ROOT}node_modules/.bin/${name}`;
  return existsSync(local) ? local : name;
}

/**
 * The command that runs `script` (relative to bench/, or absolute) on `runtime`, with a GC to
 * call. Node runs TypeScript through tsx; a `.js` script runs on plain Node.
 */
function command(target: Target, script: string, args: string[]): [string, string[]] {
  const path = script.startsWith("/") ? script : `${ROOT}bench/${script}`;
  switch (target.runtime) {
    case "node": {
      const loader = path.endsWith(".js") ? [] : ["--import", "tsx"];
      return [target.binary ?? process.execPath, ["--expose-gc", ...loader, path, ...args]];
    }
    case "deno":
      return [binary("deno"), ["run", "-A", "--quiet", "--v8-flags=--expose-gc", path, ...args]];
    case "bun":
      return [binary("bun"), ["run", path, ...args]];
  }
}

/** The version of a target's runtime, e.g. `2.9.6`. */
export function versionOf(target: Target): Promise<string> {
  const file = target.runtime === "node"
    ? target.binary ?? process.execPath
    : binary(target.runtime);
  const args = ["--version"];
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
    child.on("close", () => resolve(/\d+\.\d+\.\d+\S*/.exec(output)?.[0] ?? "?"));
    child.on("error", () => resolve("not found"));
  });
}

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: string | null;
}

/** A benchmark script running on one target. */
export class Child {
  /** When `spawn()` was called, on the driver's `performance.now()` clock. */
  readonly spawnedAt: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  readonly #process: ChildProcess;
  readonly #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #stderr = "";

  constructor(target: Target, script: string, args: string[] = []) {
    const [file, argv] = command(target, script, args);
    this.spawnedAt = performance.now();
    const child = spawn(file, argv, {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "production", NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#process = child;
    live.add(child);
    let buffered = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      this.#lines.push(...lines);
      this.#waiter?.();
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
        this.#waiter?.();
      });
    });
  }

  /** The process id. */
  get pid(): number {
    return this.#process.pid ?? -1;
  }

  /** The next line printed, within `timeoutMs`; rejects with the child's stderr otherwise. */
  async nextLine(timeoutMs = 30_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => exited = true);
    while (this.#lines.length === 0) {
      const remaining = deadline - performance.now();
      if (exited || remaining <= 0) {
        throw new Error(
          `${this.#describe()} ${exited ? "exited" : "printed nothing"}:\n${this.#stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#lines.shift() as string;
  }

  /** Waits for `ready <url>` (or `ready`) and returns what follows it. */
  async ready(timeoutMs = 30_000): Promise<string> {
    for (;;) {
      const line = await this.nextLine(timeoutMs);
      if (line.startsWith("ready")) return line.slice("ready".length).trim();
    }
  }

  /**
   * CPU time the process has used so far, all threads, in milliseconds, from Linux's
   * /proc/<pid>/task/<tid>/schedstat (nanoseconds); undefined where that does not exist.
   */
  cpuMs(): number | undefined {
    const tasks = `/proc/${this.pid}/task`;
    let threads: string[];
    try {
      threads = readdirSync(tasks);
    } catch {
      return undefined;
    }
    let nanoseconds = 0;
    for (const thread of threads) {
      try {
        nanoseconds += Number(readFileSync(`${tasks}/${thread}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended since the listing: its time is lost, a rounding error here.
      }
    }
    return nanoseconds / 1e6;
  }

  /** Writes one line to the child's stdin. */
  send(line: string): void {
    this.#process.stdin?.write(`${line}\n`);
  }

  /** Sends `signal` to the process itself (not through a shell). */
  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void {
    process.kill(this.pid, signal);
  }

  /** Ends the child: closes stdin, SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return this.exited;
    this.#process.stdin?.end();
    this.#process.kill("SIGTERM");
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #describe(): string {
    return `${this.#process.spawnfile} ${this.#process.spawnargs.slice(1).join(" ")}`;
  }
}
