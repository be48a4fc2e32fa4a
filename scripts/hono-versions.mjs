// The Hono versions the Hono-facing part of the suite runs against besides the pinned
// devDependency: the newest published 4.x (`latest`) and the lowest version of the peer range
// that deno.json's import map (and so the npm package) states (`oldest`). Each is kept in
// .cache/hono/<version> (ignored by git), fetched from the npm registry with `npm pack` on
// first use, as scripts/node-versions.mjs fetches Node; tests run with `hono` resolved to it
// through scripts/hono-resolve.mjs. Finding the newest asks the registry (`npm view`); when it
// cannot be reached, the newest 4.x already in the cache is used, with a warning.
//
//     node scripts/hono-versions.mjs             # both
//     node scripts/hono-versions.mjs oldest
//     node scripts/hono-versions.mjs 4.7.7       # one version, to try it
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const CACHE = join(root, ".cache", "hono");
const MAJOR = 4;

function npm(args, cwd) {
  return execFileSync("npm", [...args, "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

const parse = (version) => version.split(".").map(Number);
const newer = (a, b) => {
  const [x, y] = [parse(a), parse(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};
const release = (version) => /^\d+\.\d+\.\d+$/.test(version);

/** The peer range of hono the package states, from deno.json's import map: `^4.7.8`. */
export function peerRange() {
  const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const range = /^npm:hono@(.+)$/.exec(config.imports?.hono ?? "")?.[1];
  if (range === undefined) throw new Error('deno.json must map "hono" to npm:hono@<range>');
  return range;
}

/** The lowest version `range` allows: `^4.7.8` → `4.7.8`. */
function lowestOf(range) {
  const version = /^[\^~]?(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (version === undefined) throw new Error(`Cannot take the lowest version of hono@${range}`);
  return version;
}

function cached() {
  if (!existsSync(CACHE)) return [];
  return readdirSync(CACHE).filter((name) =>
    release(name) && existsSync(join(CACHE, name, "package.json"))
  );
}

/** The newest published `4.x.y`, or the newest in the cache when the registry is out of reach. */
function latestVersion() {
  try {
    const listed = JSON.parse(npm(["view", `hono@${MAJOR}`, "version", "--json"], root));
    return [listed].flat().filter(release).sort(newer).at(-1);
  } catch (error) {
    const inCache = cached().filter((version) => parse(version)[0] === MAJOR).sort(newer).at(-1);
    if (inCache === undefined) throw error;
    console.warn(`hono latest: the registry could not be asked; using ${inCache} from the cache`);
    return inCache;
  }
}

/** Downloads hono@`version` with `npm pack` and extracts it; it appears complete or not at all. */
function fetchInto(version) {
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.fetch-${version}-`));
  try {
    const [{ filename }] = JSON.parse(
      npm(["pack", `hono@${version}`, "--json", "--pack-destination", work], work),
    );
    const extracted = join(work, "extracted");
    mkdirSync(extracted);
    execFileSync("tar", ["-xzf", join(work, filename), "-C", extracted, "--strip-components=1"]);
    const manifest = JSON.parse(readFileSync(join(extracted, "package.json"), "utf8"));
    if (manifest.name !== "hono" || manifest.version !== version) {
      throw new Error(`hono@${version}: the tarball holds ${manifest.name}@${manifest.version}`);
    }
    renameSync(extracted, join(CACHE, version));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Makes sure hono `which` (`latest`, `oldest`, or a version) is in the cache, fetching it if it isn't, and
 * returns its folder and version. Prints one line.
 */
export function ensureHono(which) {
  if (which !== "latest" && which !== "oldest" && !release(which)) {
    throw new RangeError(`Expected "latest", "oldest" or a version (4.7.8), got ${which}`);
  }
  const version = which === "latest"
    ? latestVersion()
    : which === "oldest"
    ? lowestOf(peerRange())
    : which;
  const dir = join(CACHE, version);
  const shown = relative(process.cwd(), dir) || dir;
  if (existsSync(join(dir, "package.json"))) {
    console.log(`hono ${which}: ${version} (${shown})`);
    return { dir, version };
  }
  const started = performance.now();
  fetchInto(version);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`hono ${which}: ${version} (${shown}, fetched in ${seconds} s)`);
  return { dir, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  try {
    for (const which of args.length > 0 ? args : ["latest", "oldest"]) ensureHono(which);
  } catch (error) {
    console.error(`hono-versions: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  }
}
