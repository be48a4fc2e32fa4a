/**
 * `serve(app, { unix })`: a unix domain socket instead of TCP (behind nginx), with real
 * unix-socket clients (`http.request({ socketPath })`, `ws+unix:`) and real signals.
 */
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import { App, serve, type ServeOptions } from "../mod.ts";
import { Child } from "./child.ts";
import { runtimeName, within } from "./helpers.ts";

const fixture = new URL("./fixtures/protocols.ts", import.meta.url).pathname;
const listenerFixture = new URL("./fixtures/unix-listener.ts", import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), "lifespan-unix-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;
/** A fresh socket path in the test's own folder (short: a unix socket path has ~107 bytes). */
const socketPath = () => join(dir, `${++sockets}.sock`);

/** A GET over a fresh connection to the unix socket at `path`. */
function unixGet(path: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath: path, path: url, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body }));
      response.on("error", reject);
    });
    // A liveness bound: a request never answered fails its test instead of hanging it.
    request.setTimeout(ANSWER_WITHIN_MS, () => {
      request.destroy(new Error(`GET ${url} on ${path}: no answer within ${ANSWER_WITHIN_MS} ms`));
    });
    request.on("error", reject).end();
  });
}

/** Far more than any request here takes (the slowest waits 500 ms). */
const ANSWER_WITHIN_MS = 10_000;

/** Whether a process accepts connections on the unix socket at `path`. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A WebSocket over the unix socket at `path`, open; with its next message and its close. */
async function openEcho(path: string): Promise<{
  ws: WebSocket;
  message: () => Promise<string>;
  closed: Promise<number>;
}> {
  const ws = new WebSocket(`ws+unix:${path}:/echo`);
  const closed = new Promise<number>((resolve) => ws.once("close", resolve));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const message = () =>
    new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
  return { ws, message, closed };
}

/**
 * `serve()`, expected to reject: should it serve instead, the server is shut down (and the
 * promise resolves), so that the test fails rather than hangs on it.
 */
async function servedThenStopped(app: App, options: ServeOptions): Promise<void> {
  await (await serve(app, { handleSignals: false, ...options })).shutdown();
}

/** Another process listening on `path` (it prints `listening` once bound). */
async function otherListener(path: string): Promise<Child> {
  const child = new Child(listenerFixture, { SOCKET_PATH: path });
  assert.equal(await child.waitFor(/^listening$/), "listening", child.stderr);
  return child;
}

describe("unix sockets", () => {
  test("app.run({ unix }) serves HTTP, health and WebSockets over the socket, answers a request in flight at SIGTERM in full, and removes the socket file", async () => {
    const path = socketPath();
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ run: true, options: { unix: path, health: { path: "/healthz" } } }),
    });
    assert.equal(
      await child.waitFor(/^Running on /),
      `Running on unix:${path} (CTRL + C to quit)`,
      child.stderr,
    );
    assert.ok(lstatSync(path).isSocket());
    assert.match((await unixGet(path, "/")).body, /^hello \d+$/);
    assert.deepEqual(await unixGet(path, "/healthz"), { status: 200, body: "OK" });
    const echo = await openEcho(path);
    echo.ws.send("hi");
    assert.equal(await echo.message(), "echo hi");

    const slow = unixGet(path, "/slow?ms=600");
    await child.waitFor(/^slow started/);
    child.kill("SIGTERM");
    const answered = await slow;
    assert.equal(answered.status, 200);
    assert.equal(answered.body.length, 64 * 1024, "the body in full");
    assert.equal(await echo.closed, 1001, "the WebSocket is closed as the server goes away");
    const { code, stdout } = await child.exited;
    assert.equal(code, 0, child.stderr);
    assert.ok(stdout.some((line) => line.startsWith("afterServing")), stdout.join("\n"));
    assert.equal(existsSync(path), false, "the socket file is removed after the shutdown");
  });

  test("a socket file left by a killed process is replaced, and the server's url says where it listens", async () => {
    const path = socketPath();
    const crashed = await otherListener(path);
    process.kill(crashed.pid, "SIGKILL");
    await crashed.exited;
    assert.ok(lstatSync(path).isSocket(), "the killed process left its socket file");
    assert.equal(await accepts(path), false);

    const server = await serve(new App().get("/", (c) => c.text("fresh")), {
      unix: path,
      handleSignals: false,
    });
    try {
      assert.deepEqual(
        { url: server.url, unix: server.unix, hostname: server.hostname, port: server.port },
        { url: `unix:${path}`, unix: path, hostname: "", port: 0 },
      );
      assert.deepEqual(await unixGet(path, "/"), { status: 200, body: "fresh" });
    } finally {
      await server.shutdown();
    }
    assert.equal(existsSync(path), false, "the socket file is removed after the shutdown");
  });

  test("a socket another process listens on is an error naming it, and is left to that process", async () => {
    const path = socketPath();
    await using other = await otherListener(path);
    const events: string[] = [];
    const app = new App()
      .beforeServing(() => void events.push("beforeServing"))
      .afterServing(() => void events.push("afterServing"));
    await assert.rejects(servedThenStopped(app, { unix: path }), {
      message: `Cannot listen on unix:${path}: another process listens on it (EADDRINUSE)`,
    });
    assert.deepEqual(events, ["beforeServing", "afterServing"], "what startup opened is closed");
    assert.ok(await accepts(path), "the other process still listens on its socket");
    other.kill("SIGTERM");
  });

  test("a file that is not a socket at the path is an error naming it, and is left as it is", async () => {
    const path = socketPath();
    writeFileSync(path, "not a socket");
    await assert.rejects(servedThenStopped(new App(), { unix: path }), {
      message: `Cannot listen on unix:${path}: a file that is not a socket is at that path`,
    });
    assert.equal(readFileSync(path, "utf8"), "not a socket");
  });

  test(
    "with workers on Node, every worker serves the one socket, a reload replaces them with no failed request, and the file is removed at the end",
    {
      skip: runtimeName !== "node" && "node:cluster shares one socket; Deno and Bun cannot",
    },
    async () => {
      const path = socketPath();
      // Left by a primary that was killed: the next one clears it before its workers start.
      const crashed = await otherListener(path);
      process.kill(crashed.pid, "SIGKILL");
      await crashed.exited;
      await using child = new Child(fixture, {
        FIXTURE: JSON.stringify({ options: { unix: path, workers: 2 } }),
      });
      assert.equal(await child.waitFor(/^url /), `url unix:${path}`, child.stderr);
      const first = (await child.waitForCount(/^listening /, 2)).map((line) => line.split(" ")[1]);
      const seen = new Set<string>();
      for (let attempt = 0; attempt < 100 && seen.size < 2; attempt++) {
        const { status, body } = await unixGet(path, "/");
        assert.equal(status, 200);
        seen.add(body.split(" ")[1]!);
      }
      assert.deepEqual([...seen].sort(), first.sort(), "both workers answer on the socket");

      child.kill("SIGHUP");
      const reloaded = child.waitForCount(/^listening /, 4);
      let done = false;
      void reloaded.then(() => done = true);
      let requests = 0;
      const reloadEnds = Date.now() + 30_000;
      while (!done) {
        assert.ok(Date.now() < reloadEnds, `the reload took over 30 s:\n${child.stderr}`);
        assert.equal((await unixGet(path, "/")).status, 200, "no request fails during the reload");
        requests++;
      }
      assert.ok(requests > 0);
      await within(
        child.waitFor(/Reloaded: 2 workers replaced/),
        30_000,
        () => `no "Reloaded" line:\n${child.lines.join("\n")}\n${child.stderr}`,
      );
      assert.ok(lstatSync(path).isSocket(), "the socket stays through the reload");

      const slow = unixGet(path, "/slow?ms=500");
      await child.waitFor(/^slow started/);
      child.kill("SIGTERM");
      assert.equal(
        (await slow).body.length,
        64 * 1024,
        "the request in flight is answered in full",
      );
      const { code } = await child.exitedWithin(20_000, "SIGTERM");
      assert.equal(code, 0, child.stderr);
      assert.equal(existsSync(path), false, "the socket file is removed after the shutdown");
    },
  );

  test("with workers on Deno and Bun, unix is a TypeError before anything starts", {
    skip: runtimeName === "node" && "Node's workers share one socket",
  }, async () => {
    const path = socketPath();
    let started = false;
    const app = new App().beforeServing(() => void (started = true));
    for (
      const [options, asked] of [
        [{ workers: 2 }, "workers 2"],
        [{ maxRequests: 100 }, "maxRequests 100 (which runs workers)"],
      ] as const
    ) {
      await assert.rejects(
        servedThenStopped(app, { unix: path, ...options }),
        (error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^unix with workers needs workers that share one socket/);
          assert.ok(error.message.endsWith(`got unix "${path}" and ${asked}`), error.message);
          return true;
        },
      );
    }
    assert.equal(started, false);
    assert.equal(existsSync(path), false, "nothing bound");
  });
});
