/**
 * What the access log costs on Bun, and why: a `Bun.serve` with no Hono and no lifespan, whose
 * JSON response is handed to Bun as it is or re-made around its body, the way each variant
 * says. Each variant is a Bun process of its own, loaded with wrk on 127.0.0.1, in turn, a
 * round at a time; printed are requests per second of the server's CPU time (all threads, from
 * Linux's /proc) and the median of the rounds' ratios to `static`.
 *
 *     node --import tsx bench/bun_stream_body.ts [--rounds=3] [--seconds=2]
 *
 * Variants: `static` (the response as the handler made it), `native` (`new Response(body,
 * response)`: its body as the stream Bun makes of it, nothing read in JavaScript), `counted` (the
 * stream the access log reads a body through on Bun, `counted()` of src/runtimes/responses.ts)
 * and `blob` (`await response.blob()`, re-made around the blob: what a body that is no stream
 * could cost, if Bun let a handler tell one from a stream without reading it; it does not:
 * `response.body` makes a stream of any body, and `blob()` of a stream body would hold all of
 * it, an event stream's forever). Routes: `GET /` answers JSON at once; `POST /` parses a JSON
 * body and awaits a 1 ms step first, as the bench's `POST /orders`. Needs wrk (`apt-get install
 * wrk`). See docs/benchmarks.md, "What costs".
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./_child.ts";
import { median, positiveInteger } from "./_report.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, seconds: { type: "string", default: "2" } },
});
const rounds = positiveInteger("rounds", values.rounds);
const seconds = positiveInteger("seconds", values.seconds);
if (spawnSync("wrk", ["--version"]).error !== undefined) {
  throw new Error("bench/bun_stream_body.ts needs wrk on PATH (apt-get install wrk)");
}

const VARIANTS = ["static", "native", "counted", "blob"] as const;

/** The server each Bun child runs: `bun server.ts <variant>`; prints its port. */
const SERVER = `
import { counted } from ${JSON.stringify(join(ROOT, "src/runtimes/responses.ts"))};
const json = (value) =>
  new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });
const handler = async (request) => {
  if (request.method !== "POST") return json({ message: "Hello, World!" });
  const order = await request.json();
  await new Promise((resolve) => setTimeout(resolve, 1));
  return json({ id: 1, items: order.items.length });
};
let bytes = 0;
const remake = {
  static: (response) => response,
  native: (response) => new Response(response.body, response),
  counted: (response) => {
    const counter = { bytes: 0, ended: () => bytes += counter.bytes };
    return new Response(counted(response.body, counter), response);
  },
  blob: async (response) => {
    const blob = await response.blob();
    bytes += blob.size;
    return new Response(blob, response);
  },
}[process.argv[2]];
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: async (request) => remake(await handler(request)),
});
console.log("port " + server.port);
`;

const POST_SCRIPT = `wrk.method = "POST"
wrk.body = '{"items":[1,2,3],"customer":"c-1"}'
wrk.headers["Content-Type"] = "application/json"
`;

/** utime + stime of every thread of `pid`, in clock ticks (100 a second). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** wrk's request count for `duration` seconds against `url`. */
function load(url: string, duration: number, script: string | undefined): Promise<number> {
  const args = ["-t1", "-c50", `-d${duration}`, ...(script ? ["-s", script] : []), url];
  return new Promise((resolve, reject) => {
    const wrk = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    wrk.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
    wrk.on("close", (code) => {
      const requests = /(\d+) requests in/.exec(output)?.[1];
      if (code !== 0 || requests === undefined) reject(new Error(`wrk: ${output}`));
      else resolve(Number(requests));
    });
  });
}

/** Requests per CPU second of one variant's server, on GET or POST. */
async function measure(server: string, variant: string, post: string | undefined) {
  const bun = join(ROOT, "node_modules/.bin/bun");
  const child = spawn(bun, [server, variant], { stdio: ["ignore", "pipe", "inherit"] });
  // wrk runs for a few seconds; this only guards against a wedged child.
  const guard = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        const match = /port (\d+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on("exit", (code) => reject(new Error(`${variant} server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    await load(url, 1, post); // warm-up: JIT tiers
    const before = cpuTicks(child.pid!);
    const requests = await load(url, seconds, post);
    return requests / ((cpuTicks(child.pid!) - before) / 100);
  } finally {
    clearTimeout(guard);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
  }
}

const directory = mkdtempSync(join(tmpdir(), "bun-stream-body-"));
try {
  const server = join(directory, "server.ts");
  writeFileSync(server, SERVER);
  const post = join(directory, "post.lua");
  writeFileSync(post, POST_SCRIPT);
  console.log(`Bun.serve, wrk -c50 ${seconds} s per run, ${rounds} rounds; req per CPU s`);
  for (const [route, script] of [["GET /", undefined], ["POST / (1 ms await)", post]] as const) {
    const rates: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      // Rotated, so that no variant always runs first.
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(i + round) % VARIANTS.length]!;
        (rates[variant] ??= [])[round] = await measure(server, variant, script);
      }
    }
    for (const variant of VARIANTS) {
      const ratios = rates[variant]!.map((rate, i) => rate / rates.static![i]!);
      console.log(
        `${route.padEnd(20)} ${variant.padEnd(8)} ${
          String(Math.round(median(rates[variant]!))).padStart(8)
        }  ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${
          Math.max(...ratios).toFixed(2)
        }]`,
      );
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
