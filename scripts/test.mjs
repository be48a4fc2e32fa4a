// `npm test`: the one suite in tests/ on Node (tsx), Deno and Bun, then type-check, lint,
// format and doc checks. Every step runs; the exit code is non-zero if any failed.
// `npm test -- node deno` runs only the steps whose names are given.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const entries = ["mod.ts", "deno.ts", "bun.ts", "node.ts", "testing.ts"];

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const steps = {
  node: ["node", "--import", "tsx", "--test", "--test-timeout=120000", ...testFiles("tests")],
  deno: ["deno", "test", "-A", "--quiet"],
  bun: ["bun", "test", "--timeout", "120000", "./tests/"],
  tsc: ["tsc", "-p", "."],
  check: ["deno", "check", "--quiet", ...entries, ...["tests/", "examples/", "bench/"].filter(existsSync)],
  lint: ["deno", "lint", "--quiet"],
  fmt: ["deno", "fmt", "--check", "--quiet"],
  doc: ["node", "scripts/doc-lint.mjs", ...entries],
};

const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in steps));
if (unknown.length > 0) {
  console.error(`Unknown step ${unknown.join(", ")}; the steps are ${Object.keys(steps).join(", ")}`);
  process.exit(2);
}
const env = { ...process.env, PATH: `${join(process.cwd(), "node_modules", ".bin")}:${process.env.PATH}` };
const failed = [];
for (const [name, [command, ...args]] of Object.entries(steps)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  console.log(`\n=== ${name}: ${command} ${args.join(" ")}`);
  const { status, error } = spawnSync(command, args, { stdio: "inherit", env });
  if (error || status !== 0) failed.push(name);
}
const ran = chosen.length > 0 ? chosen.length : Object.keys(steps).length;
console.log(`\nsteps: ${ran - failed.length} passed, ${failed.length} failed`);
if (failed.length > 0) {
  console.log(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
