// The registry this project installs from serves only the linux-x64 build of `deno`'s
// platform packages, so `npm install` writes a lockfile without the others and `npm ci` then
// refuses it as out of sync. This adds the missing optional entries (never installed here,
// their os/cpu do not match). Run it after changing dependencies: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
const deno = packages["node_modules/deno"];
let added = 0;
for (const [name, version] of Object.entries(deno?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (packages[key]) continue;
  const [, os, cpu, libc] = /^@deno\/(\w+)-(\w+?)(?:-(\w+))?$/.exec(name) ?? [];
  packages[key] = {
    version,
    cpu: [cpu],
    dev: true,
    license: "MIT",
    ...(libc ? { libc: [libc] } : {}),
    optional: true,
    os: [os],
  };
  added++;
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entr${added === 1 ? "y" : "ies"}`);
