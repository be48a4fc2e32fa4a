// `deno doc --lint` over the entry points, then the Markdown files' relative links. Deno 2.9
// reports `private-type-ref` for a type from another package (deno#27364, fixed upstream in
// deno#34339): an `App` that extends Hono names Hono's own public types. Those reports, and only
// those, are allowed; any other fails.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

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

// Every relative link in the Markdown files resolves: to a file or folder of the repository, and
// an anchor to a heading of its page (as GitHub makes them: lower case, punctuation dropped).

function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["node_modules", ".cache", ".git", "npm"].includes(entry.name) ? [] : markdownFiles(path);
    }
    return entry.name.endsWith(".md") ? [path] : [];
  });
}

const slug = (heading) =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");

function anchors(path) {
  const text = readFileSync(path, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map(([, heading]) => slug(heading)));
}

const broken = [];
for (const file of markdownFiles(".")) {
  const text = readFileSync(file, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [path, anchor] = target.split("#");
    const resolved = path === "" ? file : join(dirname(file), path);
    if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
    else if (anchor !== undefined && !statSync(resolved).isDirectory() && !anchors(resolved).has(anchor)) {
      broken.push(`${file}: ${target} (no such heading)`);
    }
  }
}
if (broken.length > 0) {
  console.error(`Broken links:\n${broken.join("\n")}`);
  process.exit(1);
}
console.log("links: every relative link resolves");
