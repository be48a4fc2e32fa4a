/**
 * Start → first response, and the modules loaded by then, for the variants of issue 20's
 * startup target, run interleaved (A B C A B C …, the order rotated each round):
 *
 * - `bare`: the runtime's own server with the plain Hono app (bench/servers/bare.ts);
 * - `source`: `serve()` with the benchmark `App` (bench/servers/ours.ts), from the sources
 *   (Node: compiled file by file with tsc first, as bench/run.ts's startup section does);
 * - `package` (Node only): the same app importing `@lifespan/hono` from the npm package as
 *   npm-build.ts builds it, installed in a temporary folder beside hono.
 *
 *     node --import tsx bench/startup.ts [--runtime=node|deno|bun] [--node=24] [--runs=20]
 *
 * On Node the module count comes from a `module.registerHooks` hook (Node ≥ 22.15) that counts
 * the `file:` modules loaded until the first response is written (`http.server.response.finish`
 * on `node:diagnostics_channel`); "library" is the part under the package's own folder.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { compile } from "./_build.ts";
import { Child, nodeTarget, ROOT, type Target } from "./_child.ts";
import { median } from "./_report.ts";

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "node" },
    node: { type: "string", default: "24" },
    runs: { type: "string", default: "20" },
  },
});
const runs = Number(values.runs);
const target: Target = values.runtime === "node"
  ? nodeTarget(values.node!)
  : { name: values.runtime!, runtime: values.runtime as "deno" | "bun" };

// The benchmark App (bench/apps/lifespan.ts) as a user of the npm package writes it.
const packageServer = `import { App, serve } from "@lifespan/hono";
const app = new App();
app.beforeServing(function markStart() { app.state.startedAt = Date.now(); });
app.whileServing(async function* resource() { app.state.open = true; yield; app.state.open = false; });
app.afterServing(function markStop() { app.state.startedAt = 0; });
app.get("/", (c) => c.text("Hello, World!"));
app.get("/json", (c) => c.json({ message: "Hello, World!" }));
const server = await serve(app, { port: 0, hostname: "127.0.0.1" });
console.log(\`ready \${server.url}\`);
`;

// Counts the file: modules loaded until the first response is written, printed on stderr.
const countHook = `import { registerHooks } from "node:module";
import diagnosticsChannel from "node:diagnostics_channel";
const loaded = [];
registerHooks({ load(url, context, next) { if (url.startsWith("file:")) loaded.push(url); return next(url, context); } });
let done = false;
diagnosticsChannel.subscribe("http.server.response.finish", () => {
  if (done) return;
  done = true;
  process.stderr.write("modules " + JSON.stringify(loaded) + "\\n");
});
`;

/** Builds the npm package into a temporary project, returns its server script's path. */
function installPackage(work: string): string {
  const project = `${work}/project`;
  const modules = `${project}/node_modules`;
  mkdirSync(`${modules}/@lifespan`, { recursive: true });
  mkdirSync(`${modules}/@hono`, { recursive: true });
  const built = spawnSync(
    process.execPath,
    ["--import", "tsx", `${ROOT}npm-build.ts`, "--out", `${modules}/@lifespan/hono`, "--no-pack"],
    { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
  );
  if (built.status !== 0) throw new Error("npm-build.ts failed");
  for (const name of ["hono", "ws", "@hono/node-server"]) {
    symlinkSync(`${ROOT}node_modules/${name}`, `${modules}/${name}`, "dir");
  }
  writeFileSync(`${project}/package.json`, '{ "private": true, "type": "module" }\n');
  writeFileSync(`${project}/server.js`, packageServer);
  return `${project}/server.js`;
}

/** Process start to the first response of `script`, in milliseconds. */
async function timeStartup(script: string): Promise<number> {
  const child = new Child(target, script);
  try {
    const url = await child.ready();
    const response = await fetch(`${url}/`);
    await response.text();
    return performance.now() - child.spawnedAt;
  } finally {
    await child.stop();
  }
}

/** The file: modules a Node script loads until its first response. */
async function countModules(script: string): Promise<string[]> {
  const child = spawn(
    target.binary ?? process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(countHook)}`, script],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout += chunk);
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr += chunk);
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /ready (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    };
    child.stdout.on("data", check);
    child.on("exit", () => reject(new Error(`${script} exited:\n${stderr}`)));
  });
  await (await fetch(`${url}/`)).text();
  child.kill("SIGTERM");
  await new Promise((resolve) => child.on("close", resolve));
  const line = /^modules (.*)$/m.exec(stderr)?.[1];
  if (!line) throw new Error(`no module count from ${script}:\n${stderr}`);
  return JSON.parse(line);
}

const work = mkdtempSync(`${tmpdir()}/lifespan-startup-`);
const sources = { source: "bench/servers/ours.ts", bare: "bench/servers/bare.ts" };
using build = target.runtime === "node" ? await compile(Object.values(sources)) : undefined;
try {
  const scripts: Record<string, string> = {
    bare: build?.path(sources.bare) ?? `${ROOT}${sources.bare}`,
    source: build?.path(sources.source) ?? `${ROOT}${sources.source}`,
  };
  if (target.runtime === "node") scripts.package = installPackage(work);
  const names = Object.keys(scripts);

  if (target.runtime === "node") {
    for (const name of names) {
      const loaded = await countModules(scripts[name]!);
      const library = name === "package"
        ? loaded.filter((url) => url.includes("/node_modules/@lifespan/hono/"))
        : loaded.filter((url) => !url.includes("/node_modules/") && !url.includes("/bench/"));
      console.log(`${name}: ${loaded.length} file modules loaded, ${library.length} of the library`);
      if (process.env.LIST_MODULES) for (const url of library) console.log(`  ${url}`);
    }
  }

  // Unmeasured first starts: fill the file cache.
  for (const name of names) await timeStartup(scripts[name]!);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]!);
    for (const name of order) times[name]!.push(await timeStartup(scripts[name]!));
  }
  const bare = times.bare!;
  console.log(`${target.name}, ${runs} interleaved runs each, median ms (paired delta vs bare):`);
  for (const name of names) {
    const delta = median(times[name]!.map((t, i) => t - bare[i]!));
    console.log(`  ${name.padEnd(8)} ${median(times[name]!).toFixed(1)} ms  (${
      delta >= 0 ? "+" : ""
    }${delta.toFixed(1)} ms)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
