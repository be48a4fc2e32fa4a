/**
 * The dev loops: a file edited under `bun --hot`, `bun --watch`, `deno run --watch`,
 * `deno serve --watch`, `node --watch` and `tsx watch`. Each reload must run the old version's
 * shutdown once and the new version's startup once, serve the new code, and never find the
 * port busy; a signal then shuts the current version down once. Each runtime's loops run in
 * that runtime's step of `npm test`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Child } from "./child.ts";
import { runtimeName, within } from "./helpers.ts";
import { count, freePort, get, getOnceUp } from "./http.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const mod = join(root, "mod.ts");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const folder = mkdtempSync(join(tmpdir(), "lifespan-reload-"));
// ES modules, as in the repository (tsx would take a .ts file for CommonJS otherwise).
writeFileSync(join(folder, "package.json"), JSON.stringify({ type: "module" }));
after(() => rmSync(folder, { recursive: true, force: true }));

/** How the app starts: `app.run()`, or the runtime serving its default export. */
type Start = "run" | "default";

/**
 * Writes the app at `path` as version `version`: its hooks and its answer name the version.
 * In place, in one write, as an editor saves (node --watch loses a file replaced by a rename).
 */
function writeApp(path: string, version: string, start: Start, port: number): void {
  const source = `import { App } from ${JSON.stringify(mod)};
const app = new App();
app.beforeServing(() => console.log("beforeServing ${version}"));
app.afterServing(() => console.log("afterServing ${version}"));
app.get("/", (c) => c.text("${version}"));
${
    start === "run"
      ? `await app.run({ port: ${port} });
console.log("run resolved ${version}");`
      : "export default app;"
  }
`;
  // A save is one write in place where the length stays (every version's does): truncating
  // first makes a second change event, for which Bun's watcher was seen to reload twice.
  if (existsSync(path) && statSync(path).size === Buffer.byteLength(source)) {
    const fd = openSync(path, "r+");
    try {
      writeSync(fd, source, 0);
    } finally {
      closeSync(fd);
    }
  } else {
    writeFileSync(path, source);
  }
}

/**
 * Polls until the answer is `version`. While one version stops and the next starts, a
 * connection may be refused or reset (the old listener closing); any other error fails.
 */
async function waitForAnswer(url: string, version: string, child: Child): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    try {
      const { body } = await getOnceUp(url, child);
      if (body === version) return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "ECONNRESET" && code !== "ECONNREFUSED") throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never answered ${version}:\n${child.lines.join("\n")}\n${child.stderr}`);
}

interface Loop {
  /** The command, given the app's path and its port. */
  command(path: string, port: number): [string, string[]];
  /** Run in the app's folder: `bun --hot` watches only files under its working directory. */
  inFolder?: boolean;
  start: Start;
  /** What ends the watcher: its signal. */
  signal: "SIGTERM" | "SIGINT";
  /** `run()` resolves once serving (`bun --hot`), not after the shutdown. */
  runResolvesServing?: boolean;
}

const denoConfig = ["--config", join(root, "deno.json")];
const loops: Record<string, Loop> = {
  "bun --hot, app.run()": {
    command: (path) => [process.execPath, ["--hot", path]],
    inFolder: true,
    start: "run",
    signal: "SIGTERM",
    runResolvesServing: true,
  },
  "bun --hot, export default app": {
    command: (path) => [process.execPath, ["--hot", path]],
    inFolder: true,
    start: "default",
    signal: "SIGTERM",
  },
  "deno run --watch, app.run()": {
    command: (path) => [process.execPath, ["run", "--watch", "-A", ...denoConfig, path]],
    start: "run",
    signal: "SIGINT",
  },
  "deno serve --watch, export default app": {
    command: (path, port) => [process.execPath, [
      "serve",
      "--watch",
      "-A",
      ...denoConfig,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      path,
    ]],
    start: "default",
    signal: "SIGINT",
  },
  "node --watch --import tsx, app.run()": {
    command: (path) => [process.execPath, ["--watch", "--import", "tsx", path]],
    start: "run",
    signal: "SIGTERM",
  },
  "tsx watch, app.run()": {
    command: (path) => [bin("tsx"), ["watch", path]],
    start: "run",
    signal: "SIGTERM",
  },
};

for (const [name, loop] of Object.entries(loops)) {
  const runtime = name.split(" ")[0] === "tsx" ? "node" : name.split(" ")[0];
  const skip = runtime === runtimeName ? false : `runs under ${runtime}`;
  describe(`reload under ${name}`, { skip }, () => {
    test("each edit: the old shutdown once, the new startup once, the new code served", {
      timeout: 60_000,
    }, async () => {
      const port = await freePort();
      const path = join(folder, `${name.replace(/\W+/g, "-")}.ts`);
      writeApp(path, "v1", loop.start, port);
      // Run from the repository, where `tsx` resolves, unless the watcher needs the folder.
      const cwd = loop.inFolder ? folder : undefined;
      await using child = new Child(loop.command(path, port), { PORT: String(port) }, cwd);
      const url = `http://127.0.0.1:${port}/`;
      /** Serving `version`, and under `bun --hot` with the code after its run() run. */
      const serving = async (version: string) => {
        await waitForAnswer(url, version, child);
        if (!loop.runResolvesServing) return;
        const resolved = `run resolved ${version}`;
        const line = child.waitFor(new RegExp(`${resolved}$`));
        assert.match(await within(line, 10_000, () => `no "${resolved}"`), /run resolved/);
      };
      {
        await serving("v1");
        writeApp(path, "v2", loop.start, port);
        await serving("v2");
        writeApp(path, "v3", loop.start, port);
        await serving("v3");
        assert.deepEqual(await get(url), { status: 200, body: "v3" });
        child.kill(loop.signal);
        // The shutdown (gracefulTimeout 3 s at most, with nothing in flight here) ends the
        // whole loop, watcher included: 10 s is slack enough under a loaded machine.
        const exit = await child.exitedWithin(10_000, loop.signal);
        assert.equal(exit.code, 0, exit.stderr);
        const lines = child.lines;
        for (const version of ["v1", "v2", "v3"]) {
          assert.deepEqual(
            [count(lines, `beforeServing ${version}`), count(lines, `afterServing ${version}`)],
            [1, 1],
            `${version}:\n${lines.join("\n")}\n${child.stderr}`,
          );
        }
        // Each old version stopped before the next one started.
        const order = lines.filter((line) => /(before|after)Serving v\d$/.test(line));
        assert.deepEqual(order.map((line) => line.replace(/^.*((before|after)Serving)/, "$1")), [
          "beforeServing v1",
          "afterServing v1",
          "beforeServing v2",
          "afterServing v2",
          "beforeServing v3",
          "afterServing v3",
        ]);
        assert.doesNotMatch(child.stderr, /EADDRINUSE|in use/);
      }
    });
  });
}

describe("reload under bun --watch, app.run()", {
  skip: runtimeName === "bun" ? false : "runs under bun",
}, () => {
  // `bun --watch` restarts the program in place, running only the synchronous part of its
  // SIGTERM listeners first (RUNTIME-NOTES): the old version's asynchronous shutdown cannot run.
  test("each edit starts the new version once on the same port; the old shutdown does not run", {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const path = join(folder, "bun-watch.ts");
    writeApp(path, "v1", "run", port);
    await using child = new Child([process.execPath, ["--watch", path]], {}, folder);
    const url = `http://127.0.0.1:${port}/`;
    {
      await waitForAnswer(url, "v1", child);
      writeApp(path, "v2", "run", port);
      await waitForAnswer(url, "v2", child);
      child.kill("SIGTERM");
      const exit = await child.exitedWithin(10_000, "SIGTERM");
      assert.equal(exit.code, 0, exit.stderr);
      const lines = child.lines;
      assert.deepEqual(
        ["beforeServing v1", "afterServing v1", "beforeServing v2", "afterServing v2"]
          .map((line) => count(lines, line)),
        [1, 0, 1, 1],
        lines.join("\n"),
      );
      assert.doesNotMatch(child.stderr, /EADDRINUSE|in use/);
    }
  });
});
