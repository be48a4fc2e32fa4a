/**
 * `export default app`, started the way Hono's documentation tells Bun and Deno users to:
 * `bun run app.ts` (port from `PORT`) and `deno serve app.ts` (`--parallel` too). The runtime
 * binds and calls `app.fetch` itself; checked from outside, with real sockets and signals.
 * Each runtime's own command runs in its own step of `npm test` (Bun's under `bun test`,
 * Deno's under `deno test`); on Node there is no such entry.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { Child, type Exit } from "./child.ts";
import { runtimeName, within } from "./helpers.ts";
import { count, freePort, get, getOnceUp, probe } from "./http.ts";

const fixture = new URL("./fixtures/entry.ts", import.meta.url).pathname;

/** The command that serves `fixture`'s default export on this runtime, on `port`. */
function entryCommand(port: number): [string, string[]] {
  return runtimeName === "bun"
    ? [process.execPath, ["run", fixture]]
    : [process.execPath, ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), fixture]];
}

function start(port: number, config: Record<string, unknown> = {}, env = {}): Child {
  return new Child(entryCommand(port), {
    PORT: String(port),
    FIXTURE: JSON.stringify(config),
    ...env,
  });
}

/** Exit 0, after each hook ran once. */
function assertRanOnce(exit: Exit): void {
  assert.equal(exit.code, 0, exit.stderr);
  assert.deepEqual(
    [count(exit.stdout, "beforeServing v1"), count(exit.stdout, "afterServing v1")],
    [1, 1],
    exit.stdout.join("\n"),
  );
}

const skip = runtimeName === "node" ? "no runtime entry on Node: use app.run()" : false;

describe(`export default app, served by ${runtimeName} itself`, { skip }, () => {
  test("startup has finished before the first answer; concurrent first requests wait for it", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port);
    const url = `http://127.0.0.1:${port}/`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => getOnceUp(url, child)));
    for (const answer of answers) {
      assert.deepEqual(answer, { status: 200, body: "db connected v1" });
    }
    child.kill("SIGTERM");
    assertRanOnce(await child.exited);
  });

  test("SIGTERM lets a request in flight finish, runs the shutdown hooks once, exits 0", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port);
    await getOnceUp(`http://127.0.0.1:${port}/`, child);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=1000`);
    await child.waitFor(/slow started$/);
    child.kill("SIGTERM");
    assert.deepEqual(await slow, { status: 200, body: "slow done v1" });
    assertRanOnce(await child.exited);
  });

  test("SIGINT too", { timeout: 30_000 }, async () => {
    const port = await freePort();
    await using child = start(port);
    await getOnceUp(`http://127.0.0.1:${port}/`, child);
    child.kill("SIGINT");
    assertRanOnce(await child.exited);
  });

  test("a handler that throws gives a plain 500: no development error page", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port);
    const { status, body } = await getOnceUp(`http://127.0.0.1:${port}/fail`, child);
    assert.equal(status, 500);
    assert.doesNotMatch(body, /secret|at |\.ts/);
    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.ok(!exit.stdout.some((line) => /development server/.test(line)), exit.stdout.join("\n"));
  });

  test("top-level await app.startup(): startup before the bind, then the same shutdown", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port, { topLevel: true, holdStartup: true });
    assert.equal(await child.waitFor(/^startup held$/), "startup held", child.stderr);
    // Looked at from outside while the startup hook is held: nothing listens yet.
    assert.equal(await probe(port), "refused", "the port was bound during a top-level startup");
    child.kill("SIGUSR2");
    const url = `http://127.0.0.1:${port}/`;
    assert.deepEqual(await getOnceUp(url, child), { status: 200, body: "db connected v1" });
    assert.ok(child.lines.includes("top-level startup done"), child.lines.join("\n"));
    child.kill("SIGTERM");
    assertRanOnce(await child.exited);
  });

  test("a failing startup ends the process with code 1, naming the hook", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port, { failStartup: true });
    // The request that finds the app starting gets no answer: the process ends first.
    const answer = getOnceUp(`http://127.0.0.1:${port}/`, child).catch(() => "no answer");
    const exit = await child.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /beforeServing hook connectDb threw: database is down/);
    assert.equal(count(exit.stdout, "afterServing v1"), 0);
    assert.equal(await answer, "no answer");
  });

  test("export default { fetch: app.fetch }: started once evaluated, stopped the same way", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port, { exportFetch: true });
    // Before any request: the startup began when the module had evaluated.
    const started = await within(
      child.waitFor(/^started v1$/),
      10_000,
      () => `no startup without a request:\n${child.lines.join("\n")}\n${child.stderr}`,
    );
    assert.equal(started, "started v1", child.stderr);
    const url = `http://127.0.0.1:${port}/`;
    assert.deepEqual(await getOnceUp(url, child), { status: 200, body: "db connected v1" });
    child.kill("SIGTERM");
    assertRanOnce(await child.exitedWithin(10_000, "SIGTERM"));
  });

  test("a failing shutdown ends the process with code 1, naming the hook", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port, { failShutdown: true });
    await getOnceUp(`http://127.0.0.1:${port}/`, child);
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "SIGTERM");
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /afterServing hook closeDb threw: database went away/);
    assert.equal(count(exit.stdout, "afterServing v1"), 1);
  });

  test("WebSockets through upgradeWebSocket; SIGTERM closes them with 1001", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    await using child = start(port);
    await getOnceUp(`http://127.0.0.1:${port}/`, child);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const echoed = new Promise((resolve) => ws.once("message", (data) => resolve(String(data))));
    ws.send("hi");
    assert.equal(await echoed, "echo hi");
    child.kill("SIGTERM");
    assert.equal(await closed, 1001);
    const exit = await child.exited;
    assertRanOnce(exit);
    assert.equal(count(exit.stdout, "ws closed 1001"), 1);
  });

  test("deno serve --parallel: each thread runs its startup and its shutdown once", {
    timeout: 30_000,
    skip: runtimeName === "deno" ? false : "deno serve only",
  }, async () => {
    const port = await freePort();
    await using child = new Child(
      [process.execPath, [
        "serve",
        "--parallel",
        "-A",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        fixture,
      ]],
      { DENO_JOBS: "2", FIXTURE: "{}" },
    );
    const url = `http://127.0.0.1:${port}`;
    await getOnceUp(`${url}/`, child);
    await child.waitForCount(/started v1$/, 2);
    // Fresh connections spread over the threads: some are in flight in each at SIGTERM.
    const slow = Array.from({ length: 6 }, () => get(`${url}/slow?ms=1000`));
    await child.waitForCount(/slow started$/, 6);
    child.kill("SIGTERM");
    for (const answer of await Promise.all(slow)) {
      assert.deepEqual(answer, { status: 200, body: "slow done v1" });
    }
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(
      [count(exit.stdout, "beforeServing v1"), count(exit.stdout, "afterServing v1")],
      [2, 2],
      exit.stdout.join("\n"),
    );
  });
});
