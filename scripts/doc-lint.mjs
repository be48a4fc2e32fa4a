// `deno doc --lint` over the entry points. Deno 2.9 reports `private-type-ref` for a type from
// another package (deno#27364, fixed upstream in deno#34339): an `App` that extends Hono names
// Hono's own public types. Those reports, and only those, are allowed; any other fails.
import { spawnSync } from "node:child_process";

const honoTypes = new Set([
  "Hono",
  "Env",
  "Schema",
  "BlankSchema",
  "HonoOptions",
  "MergePath",
  "MergeSchemaPath",
  "UpgradeWebSocket",
]);
const entries = process.argv.slice(2);
const { stderr, stdout, status } = spawnSync("deno", ["doc", "--lint", ...entries], {
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
const output = `${stdout}${stderr}`;
const reports = [...output.matchAll(/^error\[([\w-]+)\]: (.*)$/gm)];
const real = reports.filter(([, rule, message]) => {
  const referenced = /references private type '(\w+)'/.exec(message)?.[1];
  return !(rule === "private-type-ref" && honoTypes.has(referenced));
});
if (real.length > 0 || (status !== 0 && reports.length === 0)) {
  console.error(output);
  console.error(`deno doc --lint: ${real.length} problem(s) besides Hono's own types`);
  process.exit(1);
}
console.log(`deno doc --lint: clean (${reports.length - real.length} report(s) of Hono's public types allowed)`);
