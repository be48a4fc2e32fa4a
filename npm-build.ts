/**
 * Builds the npm package from deno.json, the one place that names the package, its version,
 * licence and entry points: bundles each entry point with esbuild into one ESM `.js` file
 * (plus a few chunks: the code entries share, and what is imported lazily), with source maps;
 * type-checks the published sources and writes their `.d.ts` with the TypeScript compiler;
 * writes package.json, copies README.md, the guides in docs/ and LICENSE, and packs a tarball. Runs on Node (tsx),
 * Deno and Bun:
 *
 *     npm run build:npm                        # → ./npm and ./npm/lifespan-hono-<version>.tgz
 *     tsx npm-build.ts --out /tmp/pkg --no-pack
 *
 * Prints the tarball's absolute path as its last line.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build, type BuildOptions } from "esbuild";
import ts from "typescript";

const root = dirname(fileURLToPath(import.meta.url));

interface DenoConfig {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

interface PackageExport {
  types: string;
  import: string;
  default: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(root, path), "utf8")) as T;
}

/** The version range of an `npm:` specifier in deno.json's imports, e.g. `^4.7.8`. */
function npmRange(config: DenoConfig, name: string): string {
  const range = /^npm:\/?(?:@[^/@]+\/)?[^/@]+@([^/]+)\/?$/.exec(config.imports[name] ?? "")?.[1];
  if (!range) throw new Error(`deno.json imports must map ${name} to npm:${name}@<range>`);
  return range;
}

/** `./src/app.ts` → `./src/app.js` (or `.d.ts` for `types`). */
function built(source: string, extension: ".js" | ".d.ts"): string {
  return source.replace(/\.ts$/, extension);
}

/** `./app.ts` → `./app.js` for a relative specifier; any other is kept. */
function rewriteSpecifier(specifier: string): string {
  return /^\.\.?\//.test(specifier) ? specifier.replace(/\.ts$/, ".js") : specifier;
}

/**
 * `rewriteRelativeImportExtensions` rewrites the `.js` output only; declarations keep
 * `./app.ts`, which TypeScript before 5.0 and other type readers cannot resolve. This does
 * the same for the `.d.ts` output: imports, re-exports and `import("…")` types.
 */
const rewriteDeclarationImports: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => {
  const { factory } = context;
  const literal = (node: ts.Node | undefined): ts.StringLiteral | undefined =>
    node && ts.isStringLiteral(node) && rewriteSpecifier(node.text) !== node.text
      ? factory.createStringLiteral(rewriteSpecifier(node.text))
      : undefined;
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier) {
        return factory.updateImportDeclaration(
          node,
          node.modifiers,
          node.importClause,
          specifier,
          node.attributes,
        );
      }
    } else if (ts.isExportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier) {
        return factory.updateExportDeclaration(
          node,
          node.modifiers,
          node.isTypeOnly,
          node.exportClause,
          specifier,
          node.attributes,
        );
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const specifier = literal(node.argument.literal);
      if (specifier) {
        return factory.updateImportTypeNode(
          node,
          factory.updateLiteralTypeNode(node.argument, specifier),
          node.attributes,
          node.qualifier,
          node.typeArguments,
          node.isTypeOf,
        );
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (file) => ts.visitNode(file, visit) as ts.SourceFile | ts.Bundle;
};

/**
 * Type-checks the entry points (and everything they import) and writes their declarations into
 * `out`, beside the bundles; throws on any error.
 */
function compileDeclarations(entries: string[], out: string): void {
  // tsconfig.json holds the type settings tsc checks the repository with; emit settings are
  // added here so the package is built with exactly what `tsc -p .` checked.
  const configPath = join(root, "tsconfig.json");
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
  const program = ts.createProgram(entries.map((entry) => join(root, entry)), {
    ...options,
    noEmit: false,
    rootDir: root,
    outDir: out,
    declaration: true,
    // The JavaScript is esbuild's (see `bundle`).
    emitDeclarationOnly: true,
  });
  // Only what the entry points import is compiled: the unit tests beside the code
  // (src/**/*.test.ts) stay out of the package, unless a published module imports one.
  const tests = program.getSourceFiles()
    .map((file) => relative(root, file.fileName))
    .filter((name) => !name.startsWith("..") && name.endsWith(".test.ts"));
  if (tests.length > 0) {
    throw new Error(`a published module imports a test file: ${tests.join(", ")}`);
  }
  const { diagnostics: emitted } = program.emit(undefined, undefined, undefined, undefined, {
    afterDeclarations: [rewriteDeclarationImports],
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted];
  if (diagnostics.length > 0) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => root,
      getNewLine: () => "\n",
    };
    throw new Error(
      process.stderr.isTTY
        ? ts.formatDiagnosticsWithColorAndContext(diagnostics, host)
        : ts.formatDiagnostics(diagnostics, host),
    );
  }
}

/** What esbuild is given in every pass of `bundle`. */
const BUNDLE_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  // hono, @hono/node-server and ws stay imports, as node:* do.
  packages: "external",
  logLevel: "silent",
} as const satisfies BuildOptions;

/** Where the bundles are, in the package; the entry points' own files only point there. */
const CHUNKS = "chunks";

/** `src/server/serve.ts` → `src_server_serve`: a module's prefix in lib.js, or its chunk's name. */
function moduleName(path: string): string {
  return relative(root, path).replace(/\.ts$/, "").replace(/\W/g, "_");
}

/** The error of a failed esbuild pass, with its messages. */
function check(result: { errors: { text: string }[] }): void {
  if (result.errors.length > 0) {
    throw new Error(result.errors.map((error) => error.text).join("\n"));
  }
}

/**
 * Bundles the entry points into `out`, as @hono/node-server and srvx ship: loading a few files
 * instead of one per source module is most of what `serve()`'s start costs on Node.
 *
 * - chunks/lib.js: every module that the entries that only export (`mod.ts`, `testing.ts`)
 *   import, not lazily: what every user loads, in one file. It exports each module's exports
 *   under the module's prefix (`src_server_serve$serveOn`), for the other chunks to import.
 * - a chunk for each module the sources import lazily (`import("./primary.ts")`, each runtime),
 *   and one for each other entry (`node.ts`, `deno.ts`, `bun.ts`, `cli.ts`), with code
 *   splitting among them. Whatever of lib.js they use they import from lib.js, never a copy (a
 *   second copy of the lifespan's registry would not know the apps of the first, and esbuild's
 *   own splitting would cut lib.js into a chunk per set of entries that reach a module).
 * - the entry points' own files (`mod.js`, `node.js`, `cli.js` with its `#!` line) re-export
 *   or import their chunk.
 *
 * The source maps carry the sources, which are not shipped.
 */
async function bundle(entries: Record<string, string>, out: string): Promise<void> {
  const sources = Object.values(entries).map((source) => join(root, source));
  const exportOnly = sources.filter((source) => !/\/(cli|node|deno|bun)\.ts$/.test(source));
  const chunks = join(out, CHUNKS);
  const relativeImport = (path: string) => /^\.\.?\//.test(path) && path.endsWith(".ts");

  // 1. What lib.js holds: the modules the export-only entries import, not lazily; and the
  // modules those import lazily.
  const lazy = new Set<string>();
  const probe = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: exportOnly,
    outdir: out,
    splitting: true,
    write: false,
    metafile: true,
    plugins: [{
      name: "lazy",
      setup(build) {
        build.onResolve({ filter: /^\.\.?\// }, ({ kind, path, resolveDir }) => {
          if (kind !== "dynamic-import" || !relativeImport(path)) return undefined;
          lazy.add(resolve(resolveDir, path));
          return { path, external: true };
        });
      },
    }],
  });
  check(probe);
  const library = new Set(
    Object.keys(probe.metafile.inputs).map((input) => resolve(root, input)),
  );
  for (const module of library) lazy.delete(module);

  // 2. The names each of them exports.
  const names = await build({
    ...BUNDLE_OPTIONS,
    bundle: false,
    entryPoints: [...library],
    outdir: out,
    outbase: root,
    write: false,
    metafile: true,
  });
  check(names);
  const exportsOf = new Map<string, string[]>();
  for (const output of Object.values(names.metafile.outputs)) {
    if (output.entryPoint !== undefined) {
      exportsOf.set(resolve(root, output.entryPoint), output.exports);
    }
  }
  const exported = (module: string) => exportsOf.get(module) ?? [];
  // lib.js exports each name once: the modules' names are distinct, and an entry's are the
  // names it re-exports from them, or its own (`serve`).
  const libraryExports = new Map<string, string>();
  const ordered = [...library].sort((a, b) =>
    Number(exportOnly.includes(a)) - Number(exportOnly.includes(b))
  );
  for (const module of ordered) {
    for (const name of exported(module)) {
      const first = libraryExports.get(name);
      if (first === undefined) libraryExports.set(name, module);
      else if (!exportOnly.includes(module)) {
        throw new Error(
          `${relative(root, first)} and ${relative(root, module)} both export ${name}: ` +
            "lib.js exports each name once",
        );
      }
    }
  }
  const byModule = new Map<string, string[]>();
  for (const [name, module] of libraryExports) {
    byModule.set(module, [...byModule.get(module) ?? [], name]);
  }
  const libraryModule = [...byModule].map(([module, names]) =>
    `export { ${names.join(", ")} } from ${JSON.stringify(module)};\n`
  ).join("");

  // 3. lib.js, with the lazily imported modules left to chunks of their own.
  check(
    await build({
      ...BUNDLE_OPTIONS,
      entryPoints: [{ in: "lifespan-library", out: "lib" }],
      outdir: chunks,
      sourcemap: true,
      sourcesContent: true,
      plugins: [{
        name: "library",
        setup(build) {
          build.onResolve({ filter: /^lifespan-library$/ }, () => ({
            path: "lifespan-library",
            namespace: "library",
          }));
          build.onLoad({ filter: /.*/, namespace: "library" }, () => ({
            contents: libraryModule,
            resolveDir: root,
            loader: "js",
          }));
          build.onResolve({ filter: /^\.\.?\// }, ({ kind, path, resolveDir }) => {
            const module = resolve(resolveDir, path);
            if (kind !== "dynamic-import" || !lazy.has(module)) return undefined;
            return { path: `./${moduleName(module)}.js`, external: true };
          });
        },
      }],
    }),
  );

  // 4. The lazily imported modules and the other entries: what they import of lib.js's
  // modules, they import from lib.js.
  const own = sources.filter((source) => !exportOnly.includes(source));
  check(
    await build({
      ...BUNDLE_OPTIONS,
      entryPoints: [...lazy, ...own].map((module) => ({ in: module, out: moduleName(module) })),
      outdir: chunks,
      chunkNames: "[name]-[hash]",
      splitting: true,
      sourcemap: true,
      sourcesContent: true,
      plugins: [{
        name: "library-imports",
        setup(build) {
          build.onResolve({ filter: /^\.\.?\// }, ({ path, resolveDir }) => {
            if (!relativeImport(path)) return undefined;
            const module = resolve(resolveDir, path);
            return library.has(module) ? { path: "./lib.js", external: true } : undefined;
          });
        },
      }],
    }),
  );

  // The maps name the sources where they would be in the package (`../src/app.ts`), not where
  // they were built from.
  for (const map of readdirSync(chunks).filter((name) => name.endsWith(".map"))) {
    const path = join(chunks, map);
    const content = JSON.parse(readFileSync(path, "utf8")) as { sources: string[] };
    content.sources = content.sources.map((source) => {
      const from = relative(root, resolve(chunks, source));
      return from.startsWith("..") ? source : relative(chunks, join(out, from));
    });
    writeFileSync(path, JSON.stringify(content));
  }

  // 5. The entry points' own files.
  for (const [path, source] of Object.entries(entries)) {
    const module = join(root, source);
    const file = join(out, built(source, ".js"));
    const chunk = `./${relative(dirname(file), join(chunks, moduleName(module)))}.js`;
    const library = `./${relative(dirname(file), join(chunks, "lib.js"))}`;
    writeFileSync(
      file,
      exportOnly.includes(module)
        ? `export { ${exported(module).join(", ")} } from ${JSON.stringify(library)};\n`
        : readFileSync(module, "utf8").startsWith("#!")
        ? `#!/usr/bin/env node\nimport ${JSON.stringify(chunk)};\n`
        : `export * from ${JSON.stringify(chunk)};\n`,
    );
    void path;
  }
}

/** package.json for npm, from deno.json and the dependency versions in the dev package.json. */
function packageJson(config: DenoConfig): Record<string, unknown> {
  const dev = readJson<{ dependencies: Record<string, string>; engines?: { node?: string } }>(
    "package.json",
  );
  const nodeServer = dev.dependencies["@hono/node-server"];
  if (!nodeServer) throw new Error("package.json must depend on @hono/node-server");
  // Node's WebSocket server, which @hono/node-server's upgradeWebSocket is used with.
  const ws = dev.dependencies["ws"];
  if (!ws) throw new Error("package.json must depend on ws");
  const exports: Record<string, PackageExport | string> = {};
  for (const [path, source] of Object.entries(config.exports)) {
    // Conditions are read in order: `types` first for TypeScript, then `import` for ESM.
    // No `deno`/`bun`/`node` conditions: mod.ts detects the runtime itself and loads only
    // that adapter, lazily, and ./deno, ./bun and ./node pin one explicitly.
    const js = built(source, ".js");
    exports[path] = { types: built(source, ".d.ts"), import: js, default: js };
  }
  exports["./package.json"] = "./package.json";
  // The Node lines the suite runs on (scripts/node-versions.mjs); one range for both files.
  const node = dev.engines?.node;
  if (!node) throw new Error("package.json must name the supported Node versions in engines.node");
  const main = config.exports["."];
  if (!main) throw new Error('deno.json exports must have "."');
  // The command line is the "./cli" entry, run as `npx lifespan-hono` (its `#!` line is kept).
  const cli = config.exports["./cli"];
  if (!cli) throw new Error('deno.json exports must have "./cli", the lifespan-hono command');
  return {
    name: config.name,
    version: config.version,
    description:
      "Startup and shutdown hooks (a Quart-style lifespan) for Hono apps on Deno, Bun and Node",
    license: config.license,
    type: "module",
    // For tools that predate `exports`.
    main: built(main, ".js"),
    types: built(main, ".d.ts"),
    exports,
    bin: { "lifespan-hono": built(cli, ".js") },
    files: ["**/*.js", "**/*.js.map", "**/*.d.ts", "README.md", "docs/*.md", "LICENSE"],
    sideEffects: false,
    engines: { node },
    keywords: ["hono", "lifespan", "startup", "shutdown", "graceful", "deno", "bun", "node"],
    // The user's Hono is the one the App extends: a second copy would break `instanceof`.
    peerDependencies: { hono: npmRange(config, "hono") },
    dependencies: { "@hono/node-server": `^${nodeServer}`, ws: `^${ws}` },
  };
}

/** Runs `npm pack` in `out` and returns the tarball's absolute path. */
function pack(out: string): string {
  const output = execFileSync("npm", ["pack", "--json", "--pack-destination", out], {
    cwd: out,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    // npm is a .cmd script on Windows, which only a shell runs.
    shell: process.platform === "win32",
  });
  const [{ filename }] = JSON.parse(output) as [{ filename: string }];
  return join(out, filename);
}

async function main(args: string[]): Promise<void> {
  const outIndex = args.indexOf("--out");
  const outArg = outIndex === -1 ? "npm" : args[outIndex + 1];
  if (!outArg) throw new TypeError("--out expects a folder, got nothing");
  const out = resolve(root, outArg);
  // `out` is emptied first: it must not be the repository or hold it.
  const fromOut = relative(out, root);
  if (!fromOut.startsWith("..") && !isAbsolute(fromOut)) {
    throw new RangeError(`--out must not contain the repository, got ${out}`);
  }
  const config = readJson<DenoConfig>("deno.json");

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  compileDeclarations(Object.values(config.exports), out);
  await bundle(config.exports, out);
  writeFileSync(join(out, "package.json"), `${JSON.stringify(packageJson(config), null, 2)}\n`);
  // The README links to the guides in docs/: they travel with it.
  const guides = readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md"));
  mkdirSync(join(out, "docs"));
  for (const file of ["README.md", "LICENSE", ...guides.map((name) => join("docs", name))]) {
    if (existsSync(join(root, file))) copyFileSync(join(root, file), join(out, file));
    else console.warn(`npm-build: ${file} is missing; the package will not have one`);
  }
  console.log(`npm-build: built ${config.name}@${config.version} in ${out}`);
  if (!args.includes("--no-pack")) console.log(pack(out));
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // The message is the report (tsc's diagnostics included); a stack trace would bury it.
  console.error(`npm-build: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}
