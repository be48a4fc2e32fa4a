/**
 * Start → first response, and the modules loaded by then, for the variants of issue 20's
 * startup target, run interleaved (A B C A B C …, the order rotated each round):
 *
 * - `bare`: the runtime's own server with the plain Hono app (bench/servers/bare.ts);
 * - `source`: `serve()` with the benchmark `App` (bench/servers/ours.ts), from the sources
 *   (Node: compiled file by file with tsc first, as bench/run.ts's startup section does);
 * - `package` (Node and Bun): the same app importing `@lifespan/hono` from the npm package as
 *   npm-build.ts builds it, installed in a temporary folder beside hono.
 *
 *     node --import tsx bench/startup.ts [--runtime=node|deno|bun] [--node=24] [--runs=20]
 *       [--baseline=/path/to/another/checkout]
 *
 * `--baseline` adds the same variants from another checkout of the repository (say, main
 * before a change), run in the same rounds: `source@baseline`, `package@baseline`. Each
 * variant's wall time is reported with the CPU time its process had used by then (all
 * threads, from /proc), which a loaded machine disturbs less.
 *
 * On Node the module count comes from a `module.registerHooks` hook (Node ≥ 22.15) that counts
 * the `file:` modules loaded until the first response is written (`http.server.response.finish`
 * on `node:diagnostics_channel`); "library" is the part under the package's own folder. Deno
 * and Bun have no such hook: there the count is of the sources `serve()` evaluates, found by
 * esbuild from bench/servers/ours.ts, following of the lazy imports only the runtime's own
 * `runtimes/<runtime>/runtime.ts` (on Node this count agrees with the hook's).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { build as esbuild } from "esbuild";
import { compile } from "./_build.ts";
import { Child, nodeTarget, ROOT, type Target } from "./_child.ts";
import { median } from "./_report.ts";

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "node" },
    node: { type: "string", default: "24" },
    runs: { type: "string", default: "20" },
    baseline: { type: "string" },
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

/** Builds the npm package of the checkout at `root` into a temporary project. */
function installPackage(work: string, root: string): string {
  const project = `${work}/project`;
  const modules = `${project}/node_modules`;
  mkdirSync(`${modules}/@lifespan`, { recursive: true });
  mkdirSync(`${modules}/@hono`, { recursive: true });
  const built = spawnSync(
    process.execPath,
    ["--import", "tsx", `${root}/npm-build.ts`, "--out", `${modules}/@lifespan/hono`, "--no-pack"],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  if (built.status !== 0) throw new Error("npm-build.ts failed");
  for (const name of ["hono", "ws", "@hono/node-server"]) {
    symlinkSync(`${ROOT}node_modules/${name}`, `${modules}/${name}`, "dir");
  }
  writeFileSync(`${project}/package.json`, '{ "private": true, "type": "module" }\n');
  writeFileSync(`${project}/server.js`, packageServer);
  return `${project}/server.js`;
}

/** Process start to the first response of `script`: wall and CPU milliseconds. */
async function timeStartup(script: string): Promise<{ wall: number; cpu: number }> {
  const child = new Child(target, script);
  try {
    const url = await child.ready();
    const response = await fetch(`${url}/`);
    await response.text();
    const wall = performance.now() - child.spawnedAt;
    return { wall, cpu: child.cpuMs() ?? NaN };
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
const baseline = values.baseline?.replace(/\/$/, "");
// The baseline's servers, compiled from its checkout (bench/_build.ts compiles from ROOT).
const baselineBuild = baseline !== undefined && target.runtime === "node"
  ? compileIn(baseline, sources.source)
  : undefined;
try {
  const scripts: Record<string, string> = {
    bare: build?.path(sources.bare) ?? `${ROOT}${sources.bare}`,
    source: build?.path(sources.source) ?? `${ROOT}${sources.source}`,
  };
  // Bun's users install the npm package too (Deno's use JSR: the sources).
  const fromNpm = target.runtime !== "deno";
  if (fromNpm) {
    mkdirSync(`${work}/ours`);
    scripts.package = installPackage(`${work}/ours`, ROOT.replace(/\/$/, ""));
  }
  if (baseline !== undefined) {
    scripts["source@baseline"] = baselineBuild ?? `${baseline}/${sources.source}`;
    if (fromNpm) {
      mkdirSync(`${work}/baseline`);
      scripts["package@baseline"] = installPackage(`${work}/baseline`, baseline);
    }
  }
  const names = Object.keys(scripts);

  if (target.runtime === "node") {
    for (const name of names) {
      const loaded = await countModules(scripts[name]!);
      const library = loaded.filter((url) =>
        name.startsWith("package")
          ? url.includes("/node_modules/@lifespan/hono/")
          : !url.includes("/node_modules/") && !url.includes("/bench/")
      );
      console.log(
        `${name}: ${loaded.length} file modules loaded, ${library.length} of the library`,
      );
      if (process.env.LIST_MODULES) { for (const url of library) console.log(`  ${url}`); }
    }
  }

  if (target.runtime !== "node") {
    for (const [name, checkout] of [["source", ROOT], ["source@baseline", baseline]] as const) {
      if (checkout !== undefined) {
        console.log(`${name}: ${await sourcesEvaluated(checkout)} modules of the library`);
      }
    }
  }

  // Unmeasured first starts: fill the file cache.
  for (const name of names) await timeStartup(scripts[name]!);
  const times: Record<string, { wall: number; cpu: number }[]> = Object.fromEntries(
    names.map((name) => [name, []]),
  );
  for (let run = 0; run < runs; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]!);
    for (const name of order) times[name]!.push(await timeStartup(scripts[name]!));
  }
  const bare = times.bare!;
  const signed = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(1)}`;
  console.log(
    `${target.name}, ${runs} interleaved runs each; medians, and the median of each run's ` +
      "difference from the bare run of its round:",
  );
  for (const name of names) {
    const list = times[name]!;
    const wall = median(list.map((t) => t.wall));
    const cpu = median(list.map((t) => t.cpu));
    const wallDelta = median(list.map((t, i) => t.wall - bare[i]!.wall));
    const cpuDelta = median(list.map((t, i) => t.cpu - bare[i]!.cpu));
    console.log(
      `  ${name.padEnd(17)} wall ${wall.toFixed(1)} ms (${signed(wallDelta)})  cpu ${
        cpu.toFixed(1)
      } ms (${signed(cpuDelta)})`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  if (baselineBuild !== undefined) {
    rmSync(dirname(dirname(dirname(baselineBuild))), {
      recursive: true,
      force: true,
    });
  }
}

/** The library's modules that ours.ts evaluates from the sources of `checkout` on `target`. */
async function sourcesEvaluated(checkout: string): Promise<number> {
  const runtime = `/${target.runtime}/runtime.ts`;
  const result = await esbuild({
    absWorkingDir: checkout,
    entryPoints: [`${checkout}/bench/servers/ours.ts`],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "node",
    packages: "external",
    outdir: work,
    logLevel: "silent",
    plugins: [{
      name: "lazy",
      setup(build) {
        build.onResolve(
          { filter: /.*/ },
          ({ kind, path }) =>
            kind === "dynamic-import" && !path.endsWith(runtime)
              ? { path, external: true }
              : undefined,
        );
      },
    }],
  });
  return Object.keys(result.metafile.inputs).filter((input) => !input.startsWith("bench/")).length;
}

/** Compiles `source` of the checkout at `root` as bench/_build.ts does; returns its `.js`. */
function compileIn(root: string, source: string): string {
  const directory = mkdtempSync(`${tmpdir()}/lifespan-bench-baseline-`);
  const result = spawnSync(process.execPath, [
    `${ROOT}node_modules/typescript/bin/tsc`,
    ...["--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"],
    ...["--lib", "es2023,esnext.disposable,dom,dom.iterable", "--types", "node"],
    ...["--rewriteRelativeImportExtensions", "--noCheck", "--skipLibCheck"],
    ...["--rootDir", root, "--outDir", directory, `${root}/${source}`],
  ], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`tsc failed in ${root}`);
  writeFileSync(`${directory}/package.json`, '{ "type": "module" }\n');
  symlinkSync(`${ROOT}node_modules`, `${directory}/node_modules`, "dir");
  return `${directory}/${source.replace(/\.ts$/, ".js")}`;
}
