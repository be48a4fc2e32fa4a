/**
 * Builds the npm package from deno.json, the one place that names the package, its version,
 * licence and entry points: compiles the published sources with the TypeScript compiler into
 * ESM `.js`, `.d.ts` and source maps, writes package.json, copies README.md and LICENSE, and
 * packs a tarball. Runs on Node (tsx), Deno and Bun:
 *
 *     npm run build:npm                        # → ./npm and ./npm/lifespan-hono-<version>.tgz
 *     tsx npm-build.ts --out /tmp/pkg --no-pack
 *
 * Prints the tarball's absolute path as its last line.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
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

/** Compiles the entry points (and everything they import) into `out`; throws on any error. */
function compile(entries: string[], out: string): void {
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
    sourceMap: true,
    // The .ts sources are not shipped: put them in the maps so stack traces still resolve.
    inlineSources: true,
    // Source imports say `./app.ts` (Deno and JSR need that); Node needs `./app.js`.
    rewriteRelativeImportExtensions: true,
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
    files: ["**/*.js", "**/*.js.map", "**/*.d.ts", "README.md", "LICENSE"],
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

function main(args: string[]): void {
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
  compile(Object.values(config.exports), out);
  writeFileSync(join(out, "package.json"), `${JSON.stringify(packageJson(config), null, 2)}\n`);
  for (const file of ["README.md", "LICENSE"]) {
    if (existsSync(join(root, file))) copyFileSync(join(root, file), join(out, file));
    else console.warn(`npm-build: ${file} is missing; the package will not have one`);
  }
  console.log(`npm-build: built ${config.name}@${config.version} in ${out}`);
  if (!args.includes("--no-pack")) console.log(pack(out));
}

try {
  main(process.argv.slice(2));
} catch (error) {
  // The message is the report (tsc's diagnostics included); a stack trace would bury it.
  console.error(`npm-build: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}
