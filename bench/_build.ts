/**
 * Compiles the benchmark's servers, with the library sources they import, to JavaScript in a
 * temporary folder, for the startup case on Node: what an npm user runs is compiled code, and
 * tsx's loader costs milliseconds per TypeScript module, which would be charged to whichever
 * peer imports more modules. With `{ package: true }` the library they import is the npm
 * package as npm-build.ts builds it (bundled), installed in that folder's node_modules.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { ROOT } from "./_child.ts";

/** A folder of compiled servers; removed on dispose. */
export interface Build extends Disposable {
  /** The absolute path of a compiled file, from its path in the repository, e.g. `bench/x.ts`. */
  path(source: string): string;
}

/** Compiles `sources` (paths in the repository) and what they import into a temporary folder. */
export async function compile(
  sources: string[],
  options: { package?: boolean } = {},
): Promise<Build> {
  const directory = mkdtempSync(`${tmpdir()}/lifespan-bench-`);
  const remove = () => rmSync(directory, { recursive: true, force: true });
  try {
    const args = [
      `${ROOT}node_modules/typescript/bin/tsc`,
      ...["--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"],
      ...["--lib", "es2023,esnext.disposable,dom,dom.iterable", "--types", "node"],
      ...["--rewriteRelativeImportExtensions", "--noCheck", "--skipLibCheck"],
      ...["--rootDir", ROOT, "--outDir", directory],
      ...sources.map((source) => `${ROOT}${source}`),
    ];
    await run(args);
    writeFileSync(`${directory}/package.json`, '{ "type": "module" }\n');
    if (options.package) {
      const modules = `${directory}/node_modules`;
      mkdirSync(`${modules}/@hono`, { recursive: true });
      for (const name of ["hono", "ws", "@hono/node-server"]) {
        symlinkSync(`${ROOT}node_modules/${name}`, `${modules}/${name}`, "dir");
      }
      await run([
        "--import",
        "tsx",
        `${ROOT}npm-build.ts`,
        "--out",
        `${modules}/@lifespan/hono`,
        "--no-pack",
      ]);
      // The servers import ../../mod.js: the package's root instead of the compiled sources.
      writeFileSync(`${directory}/mod.js`, 'export * from "@lifespan/hono";\n');
    } else {
      symlinkSync(`${ROOT}node_modules`, `${directory}/node_modules`, "dir");
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    path: (source) => `${directory}/${source.replace(/\.ts$/, ".js")}`,
    [Symbol.dispose]: remove,
  };
}

/** Runs Node with `args` in the repository; rejects with its output if it fails. */
function run(args: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => text += chunk);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => text += chunk);
    child.on("error", reject);
    child.on("close", (code) => code === 0 ? resolve() : reject(new Error(`${args[0]}: ${text}`)));
  });
}
