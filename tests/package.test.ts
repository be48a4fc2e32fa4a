/**
 * The package as users get it. From npm: npm-build.ts (run by the runtime running the tests)
 * builds and packs it, npm installs the tarball next to hono in a folder outside the
 * repository, then a plain `.mjs` app runs on Node, Bun and Deno and a TypeScript consumer is
 * type-checked by tsc against the published `.d.ts`, and a TypeScript app runs on Node 24 and 26
 * with plain `node app.ts` (type stripping, no tsx). From JSR: Deno imports the sources
 * through deno.json's `exports`, and `deno publish --dry-run` accepts them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Child } from "./child.ts";
import { runtimeName, scriptCommand } from "./helpers.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
/** The runtime running the tests runs its own consumer; the other two come from node_modules. */
const commands = {
  node: runtimeName === "node" ? process.execPath : "node",
  bun: runtimeName === "bun" ? process.execPath : bin("bun"),
  deno: runtimeName === "deno" ? process.execPath : bin("deno"),
  npm: "npm",
};
/**
 * Node lines that run TypeScript themselves, from the cache scripts/node-versions.mjs fills
 * (`npm test` fills it before any step and sets NODE_MATRIX_REQUIRED in the Node-line steps,
 * where a missing binary is a failure rather than a skip).
 */
const typeStrippingNodes = [24, 26].map((major) => ({
  major,
  binary: join(root, ".cache", "node", String(major), "bin", "node"),
}));
const nodeMatrixRequired = Boolean(process.env.NODE_MATRIX_REQUIRED);
/** A child that runs longer than this has hung: it is killed and its test fails. */
const CHILD_TIMEOUT = 60_000;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output. */
function exec(command: string, args: string[], cwd: string): Promise<Finished> {
  // npm passes its own settings to scripts as npm_* variables (`npm test` sets the
  // repository as the prefix): a nested npm must not see them.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")),
  );
  const child = spawn(command, args, {
    cwd,
    env: { ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout += chunk);
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr += chunk);
  const watchdog = setTimeout(() => {
    stderr += `\n[killed after ${CHILD_TIMEOUT} ms]`;
    child.kill("SIGKILL");
  }, CHILD_TIMEOUT);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(watchdog);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like `exec`, but a non-zero exit is an assertion failure showing the output. */
async function execOk(command: string, args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await exec(command, args, cwd);
  assert.equal(code, 0, `${command} ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
  return stdout;
}

// A user's app in plain JavaScript: a lifespan, one request on a free port, a shutdown, and an
// exit on its own (nothing left open).
const plainApp = `import { App, serve } from "@lifespan/hono";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const app = new App();
app.beforeServing(() => console.log("beforeServing"));
app.afterServing(() => console.log("afterServing"));
app.get("/", (c) => c.text(\`hello from \${runtime}\`));

const server = await serve(app, { port: 0 });
const response = await fetch(server.url);
console.log(response.status, await response.text());
await server.shutdown();
`;

// The same app as a TypeScript user writes it for Node's own type stripping: only erasable
// syntax (type imports, annotations, type arguments), run as `node node-app.ts`.
const strippedApp = `import { App, type Server, serve } from "@lifespan/hono";

const app = new App<{ State: { greeting: string } }>();
app.beforeServing((): void => {
  app.state.greeting = "hello from node";
  console.log("beforeServing");
});
app.afterServing(() => console.log("afterServing"));
app.get("/", (c) => c.text(\`\${app.state.greeting} \${process.versions.node}\`));

const server: Server = await serve(app, { port: 0 });
const response: Response = await fetch(server.url);
console.log(response.status, await response.text());
await server.shutdown();
`;

// A TypeScript user: every entry point, typed state (a wrong type must be an error, so the
// types are not \`any\`), a plain Hono sub-app, and a request served.
const typedApp = `import { App, type Server, serve, StartupError } from "@lifespan/hono";
import { serve as serveOnNode } from "@lifespan/hono/node";
import { serve as serveOnDeno } from "@lifespan/hono/deno";
import { serve as serveOnBun } from "@lifespan/hono/bun";
import { type TestApp, TestClient } from "@lifespan/hono/testing";
import { Hono } from "hono";

const app = new App<{ State: { greeting: string } }>();
app.beforeServing(() => {
  app.state.greeting = "typed hello";
});
app.route("/plain", new Hono().get("/", (c) => c.text("plain")));
app.get("/", (c) => c.text(app.state.greeting));

export function typeChecks(testApp: TestApp): TestClient {
  // @ts-expect-error: the state's type comes from the App's type parameter
  app.state.greeting = 42;
  const runners: (typeof serve)[] = [serveOnNode, serveOnDeno, serveOnBun];
  const isStartupError = (error: unknown): boolean => error instanceof StartupError;
  void [runners, isStartupError];
  return testApp.testClient();
}

const server: Server = await serve(app, { port: 0 });
const response = await fetch(server.url);
console.log(response.status, await response.text());
await server.shutdown();
`;

// What a user serves with the command line: the default export, startup and shutdown printed,
// with erasable TypeScript only (the Node lines strip the types themselves).
const cliApp = `import { App } from "@lifespan/hono";

const app = new App();
app.beforeServing((): void => console.log("beforeServing"));
app.afterServing((): void => console.log("afterServing"));
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
app.get("/", (c) => c.text(\`hello from \${runtime}\`));
export default app;
`;

// Counts the files of the package that a program loads (module.registerHooks: Node 22.15+),
// printed on stderr as it exits.
const countingHook = `import { registerHooks } from "node:module";
const loaded = [];
registerHooks({
  load(url, context, next) {
    if (url.includes("/node_modules/@lifespan/hono/")) loaded.push(url.split("/@lifespan/hono/")[1]);
    return next(url, context);
  },
});
process.on("exit", () => process.stderr.write(\`package files loaded: \${JSON.stringify(loaded)}\\n\`));
`;

/**
 * The most files of the package that serving an app loads on Node: the root entry, the
 * bundle it re-exports, and the Node runtime's chunks (5 today). Compiled file by file, as
 * before issue 20, it was 37.
 */
const MAX_FILES_LOADED = 6;

describe(`the package, built and installed on ${runtimeName}`, () => {
  const work = mkdtempSync(join(tmpdir(), "lifespan-hono-package-"));
  const npmConsumer = join(work, "npm-consumer");
  const jsrConsumer = join(work, "jsr-consumer");
  const dev = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const denoConfig = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));

  // Build, pack and install once; every test below reads the same installed package.
  before(async () => {
    const [command, args] = scriptCommand(join(root, "npm-build.ts"));
    const output = await execOk(command, [...args, "--out", join(work, "package")], root);
    const tarball = output.trim().split("\n").at(-1)!;
    assert.match(tarball, /\.tgz$/);

    mkdirSync(npmConsumer);
    writeFileSync(join(npmConsumer, "package.json"), '{ "private": true, "type": "module" }\n');
    await execOk(commands.npm, [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      tarball,
      `hono@${dev.devDependencies.hono}`,
      `@types/node@${dev.devDependencies["@types/node"]}`,
    ], npmConsumer);
    writeFileSync(join(npmConsumer, "app.mjs"), plainApp);
    writeFileSync(join(npmConsumer, "app.ts"), typedApp);
    writeFileSync(join(npmConsumer, "node-app.ts"), strippedApp);
    writeFileSync(join(npmConsumer, "cli-app.mjs"), cliApp.replaceAll(": void", ""));
    writeFileSync(join(npmConsumer, "cli-app.ts"), cliApp);
    writeFileSync(join(npmConsumer, "count-hook.mjs"), countingHook);
    // What a Node user writes: strict, nodenext, and the library's own .d.ts checked too.
    writeFileSync(
      join(npmConsumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          lib: ["es2022", "dom"],
          types: ["node"],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ["app.ts", "node-app.ts"],
      }),
    );

    // A Deno user of the JSR package: its name maps to deno.json's exports, its
    // dependencies to deno.json's imports (one hono for both, as JSR resolves it).
    mkdirSync(jsrConsumer);
    const imports: Record<string, string> = {};
    for (const [name, target] of Object.entries<string>(denoConfig.imports)) {
      if (!name.startsWith(denoConfig.name)) imports[name] = target;
    }
    for (const [path, target] of Object.entries<string>(denoConfig.exports)) {
      imports[denoConfig.name + path.slice(1)] = pathToFileURL(join(root, target)).href;
    }
    writeFileSync(join(jsrConsumer, "deno.json"), JSON.stringify({ imports, lock: false }));
    writeFileSync(join(jsrConsumer, "app.ts"), typedApp);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  for (const runtime of ["node", "bun", "deno"] as const) {
    test(`a plain .mjs app imports it on ${runtime}, serves, shuts down and exits 0`, async () => {
      const args = runtime === "deno" ? ["run", "-A", "app.mjs"] : ["app.mjs"];
      const { code, stdout, stderr } = await exec(commands[runtime], args, npmConsumer);
      assert.equal(code, 0, stderr);
      assert.deepEqual(stdout.trim().split("\n"), [
        "beforeServing",
        `200 hello from ${runtime}`,
        "afterServing",
      ]);
    });
  }

  for (const { major, binary } of typeStrippingNodes) {
    const missing = !existsSync(binary) &&
      `Node ${major} is not in .cache/node (\`node scripts/node-versions.mjs\` fetches it)`;
    test(
      `a TypeScript app runs on Node ${major} with plain node (type stripping), serves, shuts down and exits 0`,
      {
        skip: !nodeMatrixRequired && missing,
      },
      async () => {
        assert.ok(!missing, `${missing}, but npm test should have fetched it`);
        const { code, stdout, stderr } = await exec(binary, ["node-app.ts"], npmConsumer);
        assert.equal(code, 0, stderr);
        assert.match(
          stdout,
          new RegExp(`^beforeServing\n200 hello from node ${major}\\.\\d+\\.\\d+\nafterServing\n$`),
        );
      },
    );
  }

  /** Serves `module` with the installed bin run by `command`, then stops it with SIGTERM. */
  async function serveWithBin(
    command: [string, string[]],
    module: string,
    runtime: "node" | "bun",
  ): Promise<void> {
    await using child = new Child(
      [command[0], [...command[1], "--port", "0", module]],
      {},
      npmConsumer,
    );
    const url = await child.url();
    const response = await fetch(url);
    assert.equal(await response.text(), `hello from ${runtime}`);
    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(
      exit.stdout.filter((line) => /^(before|after)Serving$/.test(line)),
      ["beforeServing", "afterServing"],
    );
  }

  const installedBin = join("node_modules", ".bin", "lifespan-hono");

  test("npx lifespan-hono runs the published bin", async () => {
    const stdout = await execOk("npx", ["--no-install", "lifespan-hono", "--version"], npmConsumer);
    assert.equal(stdout.trim(), denoConfig.version);
  });

  test(`the published bin serves a module's default export on ${runtimeName}, SIGTERM exits 0`, {
    skip: runtimeName === "deno" && "Deno runs the command line from JSR (cli.ts, tested)",
  }, async () => {
    // Node through the bin's #! line; Bun as its docs say: `bunx --bun` runs the bin on Bun.
    await serveWithBin(
      runtimeName === "bun"
        ? [process.execPath, ["x", "--bun", "lifespan-hono"]]
        : [installedBin, []],
      "cli-app.mjs",
      runtimeName === "bun" ? "bun" : "node",
    );
  });

  for (
    const { major, binary } of [22, 24, 26].map((major) => ({
      major,
      binary: join(root, ".cache", "node", String(major), "bin", "node"),
    }))
  ) {
    const missing = !existsSync(binary) &&
      `Node ${major} is not in .cache/node (\`node scripts/node-versions.mjs\` fetches it)`;
    test(`the published bin serves a TypeScript module on Node ${major} (type stripping)`, {
      skip: (runtimeName !== "node" && "run by the Node steps") || (!nodeMatrixRequired && missing),
    }, async () => {
      assert.ok(!missing, `${missing}, but npm test should have fetched it`);
      await serveWithBin([binary, [installedBin]], "cli-app.ts", "node");
    });
  }

  // tsc and `deno publish` (5 s each) read files and do not depend on the runtime running the
  // tests: they run once per `npm test`.
  test("tsc type-checks a TypeScript consumer against the published .d.ts", {
    skip: runtimeName !== "node" && "checked once, in the Node run",
  }, async () => {
    await execOk(
      commands.node,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", "."],
      npmConsumer,
    );
  });

  test("deno publish --dry-run accepts the sources (no slow types)", {
    skip: runtimeName !== "deno" && "checked once, in the Deno run",
  }, async () => {
    await execOk(commands.deno, ["publish", "--dry-run", "--allow-dirty", "--quiet"], root);
  });

  test("the package is bundled: no file per source module, and serve() loads a few files", {
    skip: (runtimeName !== "node" && "checked once, in the Node run") ||
      (!nodeMatrixRequired && !existsSync(typeStrippingNodes[0]!.binary) &&
        "Node 24 is not in .cache/node (`node scripts/node-versions.mjs` fetches it)"),
  }, async () => {
    const installed = join(npmConsumer, "node_modules", ...denoConfig.name.split("/"));
    const scripts = readdirSync(installed, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".js"));
    assert.deepEqual(scripts.filter((name) => name.startsWith("src")), [], "no src/**/*.js");
    assert.ok(scripts.includes(join("chunks", "lib.js")), scripts.join(", "));
    // Every bundle has its map, with the sources in it.
    for (const script of scripts.filter((name) => name.startsWith("chunks"))) {
      const map = JSON.parse(readFileSync(join(installed, `${script}.map`), "utf8"));
      assert.equal(map.sources.length, map.sourcesContent.length, script);
    }
    // module.registerHooks is Node 22.15's: counted on Node 24.
    const { code, stdout, stderr } = await exec(
      typeStrippingNodes[0]!.binary,
      ["--import", "./count-hook.mjs", "app.mjs"],
      npmConsumer,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /200 hello from node/);
    const loaded: string[] = JSON.parse(/^package files loaded: (.*)$/m.exec(stderr)![1]!);
    assert.ok(loaded.includes("mod.js"), stderr);
    assert.ok(
      loaded.length <= MAX_FILES_LOADED,
      `serve() loaded ${loaded.length} files of the package: ${loaded.join(", ")}`,
    );
  });

  test("the published package.json has the exports, peer hono and engines", () => {
    const installed = JSON.parse(
      readFileSync(
        join(npmConsumer, "node_modules", ...denoConfig.name.split("/"), "package.json"),
        "utf8",
      ),
    );
    assert.equal(installed.version, denoConfig.version);
    assert.deepEqual(Object.keys(installed.exports), [
      ...Object.keys(denoConfig.exports),
      "./package.json",
    ]);
    assert.deepEqual(installed.exports["."], {
      types: "./mod.d.ts",
      import: "./mod.js",
      default: "./mod.js",
    });
    assert.ok(installed.peerDependencies.hono, "hono is a peer dependency");
    assert.deepEqual(installed.engines, { node: dev.engines.node });
  });

  test("Deno imports it through deno.json's exports, type-checks and serves", async () => {
    const stdout = await execOk(commands.deno, ["run", "--check", "-A", "app.ts"], jsrConsumer);
    assert.equal(stdout.trim(), "200 typed hello");
  });
});
