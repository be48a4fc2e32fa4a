// `npm test`: the one suite in tests/ on Node (tsx) — the latest 22.x, 24.x and 26.x, fetched
// into .cache/node on first use — Deno and Bun; the tests that touch Hono again with the newest
// Hono 4.x and with the oldest the peer range allows (fetched into .cache/hono); then
// type-check, lint, format and doc checks. Every step runs and prints the runtime version it
// runs on; the exit code is non-zero if any failed. `npm test -- node24 deno` runs only the
// steps whose names are given; the step `node` (the suite on the Node running `npm test`, say
// an end-of-life 20) runs only when named.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import process from "node:process";
import { ensureHono } from "./hono-versions.mjs";
import { ensureNode, SUPPORTED_MAJORS } from "./node-versions.mjs";

const entries = ["mod.ts", "deno.ts", "bun.ts", "node.ts", "testing.ts", "cli.ts"];

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// tests/ holds the suite; unit tests of pure parts sit beside their code in src/.
// examples/testing has a file per test runner: the Node steps run its *.test.ts (node:test),
// the Deno and Bun steps its notes.deno.ts and notes.bun.ts, the vitest step its *.vitest.ts.
const nodeSuite = [
  "--import",
  "tsx",
  "--test",
  "--test-timeout=120000",
  ...testFiles("tests"),
  ...testFiles("src"),
  ...testFiles(join("examples", "testing")),
];
/** The tests that exercise Hono's API and internals, run again with other Hono versions. */
const honoSuite = [
  "--import",
  "tsx",
  "--test",
  "--test-timeout=120000",
  ...["lifespan", "testing", "internals", "websocket", "context", "observability"].map((name) =>
    join("tests", `${name}.test.ts`)
  ),
];
const tsc = join("node_modules", "typescript", "bin", "tsc");
const vitest = join("node_modules", "vitest", "vitest.mjs");
/**
 * Each step: the runtime it runs (a path or a command on PATH; a Node line from the cache is
 * given by its major) and the arguments it is given; `hono`: the Hono (from .cache/hono) that
 * `hono` resolves to in it and in its child processes, instead of node_modules/hono.
 */
const steps = {
  node: { runtime: process.execPath, args: nodeSuite },
  ...Object.fromEntries(
    SUPPORTED_MAJORS.map((major) => [`node${major}`, { runtime: major, args: nodeSuite }]),
  ),
  "hono-latest": { runtime: 24, args: honoSuite, hono: "latest" },
  "hono-oldest": { runtime: 24, args: honoSuite, hono: "oldest" },
  deno: { runtime: "deno", args: ["test", "-A", "--quiet"] },
  bun: {
    runtime: "bun",
    args: ["test", "--timeout", "120000", "./tests/", "./src/", "./examples/testing/notes.bun.ts"],
  },
  vitest: {
    runtime: process.execPath,
    args: [vitest, "run", "--config", join("examples", "testing", "vitest.config.ts")],
  },
  tsc: { runtime: process.execPath, args: [tsc, "-p", "."] },
  // The testing example as a user's project (typed routes need no isolatedDeclarations).
  "tsc-examples": { runtime: process.execPath, args: [tsc, "-p", join("examples", "testing")] },
  check: {
    runtime: "deno",
    args: [
      "check",
      "--quiet",
      ...entries,
      ...["src/", "tests/", "examples/", "bench/"].filter(existsSync),
    ],
  },
  lint: { runtime: "deno", args: ["lint", "--quiet"] },
  fmt: { runtime: "deno", args: ["fmt", "--check", "--quiet"] },
  doc: { runtime: process.execPath, args: ["scripts/doc-lint.mjs", ...entries] },
};

const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in steps));
if (unknown.length > 0) {
  console.error(
    `Unknown step ${unknown.join(", ")}; the steps are ${Object.keys(steps).join(", ")}`,
  );
  process.exit(2);
}
const selected = Object.entries(steps).filter(([name]) =>
  chosen.length === 0 ? name !== "node" : chosen.includes(name)
);
const env = {
  ...process.env,
  PATH: `${join(process.cwd(), "node_modules", ".bin")}:${process.env.PATH}`,
};

// The Node lines are fetched before any step runs, all of them when any runs: the package test
// runs the built package on 24 and 26 from every Node step.
const nodes = new Map();
if (selected.some(([, { runtime }]) => typeof runtime === "number")) {
  for (const major of SUPPORTED_MAJORS) {
    try {
      nodes.set(major, ensureNode(major).path);
    } catch (error) {
      console.error(
        `node ${major}: not available: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
}

/** `node v24.22.3`, `deno 2.9.6`, `bun 1.4.5`, from what the runtime prints for --version. */
const versions = new Map();
function versionOf(runtime) {
  if (!versions.has(runtime)) {
    const { stdout, error } = spawnSync(runtime, ["--version"], { encoding: "utf8", env });
    const name = basename(runtime);
    const version = error ? "version unknown" : stdout.split("\n")[0].replace(/\(.*\)/, "").trim();
    versions.set(runtime, version.startsWith(name) ? version : `${name} ${version}`);
  }
  return versions.get(runtime);
}

/** A path inside the repository as a relative one, for shorter headings. */
function shown(command) {
  const inside = relative(process.cwd(), command);
  return command.startsWith("/") && !inside.startsWith("..") ? inside : command;
}

const failed = [];
const times = [];
for (const [name, { runtime, args, hono }] of selected) {
  const command = typeof runtime === "number" ? nodes.get(runtime) : runtime;
  if (command === undefined) {
    console.log(`\n=== ${name}: Node ${runtime} is not in .cache/node and could not be fetched`);
    failed.push(name);
    continue;
  }
  let honoEnv = {};
  let honoShown = "";
  if (hono !== undefined) {
    try {
      const { dir, version } = ensureHono(hono);
      const hook = join(process.cwd(), "scripts", "hono-resolve.mjs");
      const options = [env.NODE_OPTIONS, `--import=${hook}`].filter(Boolean).join(" ");
      honoEnv = { HONO_UNDER_TEST: dir, NODE_OPTIONS: options };
      honoShown = `, hono ${version}`;
    } catch (error) {
      console.log(`\n=== ${name}: hono ${hono} could not be fetched: ${error.message ?? error}`);
      failed.push(name);
      continue;
    }
  }
  // A Node line's directory goes first in PATH, so a test or tool that spawns a bare `node`
  // (npm's and tsx's `#!/usr/bin/env node` too) runs on the Node under test, not the system's.
  // NODE and npm_node_execpath (set by npm) name the Node for tools that spawn one.
  const stepEnv = typeof runtime === "number"
    ? {
      ...env,
      PATH: `${dirname(command)}:${env.PATH}`,
      NODE: command,
      ...(env.npm_node_execpath && { npm_node_execpath: command }),
      NODE_MATRIX_REQUIRED: "1",
      ...honoEnv,
    }
    : { ...env, ...honoEnv };
  console.log(
    `\n=== ${name} (${versionOf(command)}${honoShown}): ${shown(command)} ${args.join(" ")}`,
  );
  const started = performance.now();
  const { status, error } = spawnSync(command, args, { stdio: "inherit", env: stepEnv });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  times.push(`${name} ${seconds} s`);
  if (error) console.error(`${name}: ${error.message}`);
  if (error || status !== 0) failed.push(name);
}
console.log(`\ntimes: ${times.join(", ")}`);
console.log(`steps: ${selected.length - failed.length} passed, ${failed.length} failed`);
if (failed.length > 0) {
  console.log(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
