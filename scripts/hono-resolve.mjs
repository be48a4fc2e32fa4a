// Resolves `hono` and `hono/*` to the copy in the folder `HONO_UNDER_TEST` names (one of
// .cache/hono/<version>, see scripts/hono-versions.mjs), for every module a Node process
// loads, its own dependencies' included: `node --import ./scripts/hono-resolve.mjs`, or in
// NODE_OPTIONS so that child processes get it too. The resolution goes through the package's
// own name from inside it (a package's self-reference), so Hono's `exports` decide as usual.
// It fails at once when `hono` does not end up there.
import { realpathSync } from "node:fs";
import * as nodeModule from "node:module";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

const named = process.env.HONO_UNDER_TEST;
if (named === undefined) throw new Error("hono-resolve: HONO_UNDER_TEST names no folder");
// As Node resolves it (.cache may be a link).
const dir = realpathSync(named);
const packageJson = pathToFileURL(join(dir, "package.json")).href;
// In-thread hooks where Node has them (22.15+; module.register is deprecated from 26), the
// off-thread ones of Node 20 elsewhere: the same resolve in both.
if (typeof nodeModule.registerHooks === "function") {
  const { initialize, resolve } = await import("./hono-resolve-hooks.mjs");
  initialize({ packageJson });
  nodeModule.registerHooks({ resolve });
} else {
  nodeModule.register("./hono-resolve-hooks.mjs", import.meta.url, { data: { packageJson } });
}

const resolved = import.meta.resolve("hono");
if (!resolved.startsWith(pathToFileURL(dir).href + "/")) {
  throw new Error(`hono-resolve: hono resolves to ${resolved}, not into ${dir}`);
}
