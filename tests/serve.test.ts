import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { App, serve } from "../mod.ts";
import { Child, type Exit } from "./child.ts";
import { captureConsole, deferred, runtimeName } from "./helpers.ts";
import { freePort, probe } from "./http.ts";

const fixture = new URL("./fixtures/server.ts", import.meta.url).pathname;

function start(config: Record<string, unknown> = {}): Child {
  return new Child(fixture, { FIXTURE: JSON.stringify(config) });
}

/** The hook lines the fixture printed, in order. */
function events(lines: string[]): string[] {
  return lines.filter((line) =>
    /^(beforeServing|whileServing start|whileServing end|afterServing|finished)$/.test(line)
  );
}

/** Exit 0, after the teardown hooks ran once each (the two startup lines come first). */
function assertShutDownOnce(exit: Exit): void {
  assert.equal(exit.code, 0, exit.stderr);
  assert.deepEqual(events(exit.stdout).slice(2), ["whileServing end", "afterServing", "finished"]);
}

/** A GET over a fresh connection (no pooling), for requests the test must watch fail. */
function get(url: string, agent = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body }));
      response.on("error", reject);
    }).on("error", reject).end();
  });
}

/** A self-signed certificate for 127.0.0.1, for the TLS tests only. */
const TLS = {
  cert: readFileSync(new URL("./fixtures/tls/cert.pem", import.meta.url), "utf8"),
  key: readFileSync(new URL("./fixtures/tls/key.pem", import.meta.url), "utf8"),
};

/** A GET over HTTPS through `agent`, which trusts any certificate. */
function getHttps(url: string, agent: HttpsAgent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { agent }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body }));
      response.on("error", reject);
    }).on("error", reject).end();
  });
}

/**
 * Opens a streaming GET: resolves with the first chunk and `ended`, which resolves if the body
 * ends normally and rejects if the connection breaks first.
 */
function openStream(url: string): Promise<{ first: string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false }, (response) => {
      const ended = new Promise<void>((resolveEnd, rejectEnd) => {
        response.on("end", resolveEnd);
        response.on("error", rejectEnd);
      });
      ended.catch(() => {}); // awaited by the test, after the signal
      response.setEncoding("utf8").once("data", (first: string) => resolve({ first, ended }));
    }).on("error", reject).end();
  });
}

describe(`serve() in a child process on ${runtimeName}`, () => {
  test("startup completes before the first response; SIGTERM runs shutdown and exits 0", async () => {
    await using child = start();
    const url = await child.url();
    assert.deepEqual(events(child.lines), ["beforeServing", "whileServing start"]);
    assert.equal((await get(url)).body, "hello");
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "the signal");
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(events(exit.stdout), [
      "beforeServing",
      "whileServing start",
      "whileServing end",
      "afterServing",
      "finished",
    ]);
  });

  test("SIGINT shuts down gracefully too and exits 0", async () => {
    await using child = start();
    await child.url();
    child.kill("SIGINT");
    assertShutDownOnce(await child.exitedWithin(10_000, "the signal"));
  });

  test("a response sent during the drain tells a keep-alive client to close", {
    // Bun: adding the header would put a step on every async response's path.
    skip: runtimeName === "bun" ? "not on Bun (see README)" : false,
  }, async () => {
    await using child = start();
    const url = await child.url();
    const { Agent } = await import("node:http");
    const agent = new Agent({ keepAlive: true });
    const connection = new Promise<string | undefined>((resolve, reject) => {
      httpRequest(`${url}/slow?ms=300`, { agent }, (response) => {
        response.resume().on("end", () => resolve(response.headers.connection));
      }).on("error", reject).end();
    });
    await child.waitFor(/^slow started$/);
    child.kill("SIGTERM");
    assert.equal(await connection, "close");
    agent.destroy();
    assert.equal((await child.exitedWithin(10_000, "the signal")).code, 0);
  });

  test("a request in flight at SIGTERM completes with 200 before shutdown runs", async () => {
    await using child = start();
    const url = await child.url();
    const response = get(`${url}/slow?ms=300`);
    await child.waitFor(/^slow started$/);
    child.kill("SIGTERM");
    assert.deepEqual(await response, { status: 200, body: "slow done" });
    assertShutDownOnce(await child.exitedWithin(10_000, "the signal"));
  });

  test("an idle keep-alive connection does not hold shutdown for the grace period", {
    timeout: 30_000,
  }, async () => {
    // With a 10-minute grace period, only closing the idle connection lets the child exit
    // within the bound: a shutdown of milliseconds, with slack, under the 5 s after which
    // Node's own keep-alive timeout would close the connection anyway.
    await using child = start({ options: { gracefulTimeout: 600_000 } });
    const url = await child.url();
    const { Agent } = await import("node:http");
    const agent = new Agent({ keepAlive: true });
    assert.equal((await get(url, agent as never)).status, 200);
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(4_000, "SIGTERM with an idle connection open");
    agent.destroy();
    assert.equal(exit.code, 0, exit.stderr);
  });

  test("tls: https is served; at SIGTERM a request in flight finishes, an idle one is closed", {
    timeout: 30_000,
  }, async () => {
    // With a 10-minute grace period, the child exits within the bound only if the idle TLS
    // connection is closed (as in the plain HTTP test above: under Node's 5 s keep-alive).
    await using child = start({ options: { tls: TLS, gracefulTimeout: 600_000 } });
    const url = await child.url();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const idle = new HttpsAgent({ keepAlive: true, rejectUnauthorized: false });
    const fresh = new HttpsAgent({ rejectUnauthorized: false });
    try {
      assert.deepEqual(await getHttps(url, idle), { status: 200, body: "hello" });
      const slow = getHttps(`${url}/slow?ms=300`, fresh);
      await child.waitFor(/^slow started$/);
      child.kill("SIGTERM");
      assert.deepEqual(await slow, { status: 200, body: "slow done" });
      assertShutDownOnce(await child.exitedWithin(4_000, "SIGTERM with an idle TLS connection"));
    } finally {
      idle.destroy();
      fresh.destroy();
    }
  });

  test("a request past gracefulTimeout is cut and the shutdown hooks still run once", {
    timeout: 15_000,
  }, async () => {
    // run(): an abandoned handler (a 20 s timer here) must not keep the process alive.
    await using child = start({ run: true, options: { gracefulTimeout: 100 } });
    const url = await child.url();
    const response = get(`${url}/slow?ms=20000`);
    await child.waitFor(/^slow started$/);
    child.kill("SIGTERM");
    await assert.rejects(response);
    const exit = await child.exitedWithin(10_000, "the signal");
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(events(exit.stdout).slice(2), ["whileServing end", "afterServing"]);
  });

  test("an endless stream past gracefulTimeout is cut and the shutdown hooks still run once", {
    timeout: 15_000,
  }, async () => {
    await using child = start({ options: { gracefulTimeout: 100 } });
    const url = await child.url();
    const { first, ended } = await openStream(`${url}/stream`);
    assert.equal(first, "data: tick\n\n");
    child.kill("SIGTERM");
    // The body breaks off rather than ending as if complete.
    await assert.rejects(ended);
    // serve() never calls exit: the child ends only once nothing of the stream is left running.
    assertShutDownOnce(await child.exitedWithin(10_000, "the signal"));
  });

  test("a handler looping on app.signal, asleep past the whole shutdown, ends when it wakes", {
    timeout: 15_000,
  }, async () => {
    // The loop sleeps 2.5 s; the shutdown (100 ms grace, the cut, 1 s for the handler) is over
    // before it wakes. It ends only if app.signal still says stopped: the process stays up
    // for as long as the loop goes round.
    await using child = start({ options: { gracefulTimeout: 100 } });
    const url = await child.url();
    const response = get(`${url}/loop?ms=2500`);
    await child.waitFor(/^loop started$/);
    child.kill("SIGTERM");
    await response.catch(() => {}); // cut at the end of the grace period
    const exit = await child.exitedWithin(10_000, "the signal");
    assertShutDownOnce(exit);
    // It did outlive the shutdown: otherwise this test proves nothing.
    assert.ok(
      exit.stdout.indexOf("loop ended") > exit.stdout.indexOf("finished"),
      exit.stdout.join("\n"),
    );
  });

  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    test(`a second ${signal} while shutting down exits at once with code ${code}`, async () => {
      await using child = start({ hangShutdown: true });
      await child.url();
      child.kill(signal);
      await child.waitFor(/^afterServing$/);
      // A person's second CTRL + C, not an echo of the first (those within 200 ms are one).
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill(signal);
      const exit = await child.exitedWithin(10_000, `the second ${signal}`);
      assert.equal(exit.code, code, exit.stderr);
    });
  }

  test("a signal echoed at once (process group plus a wrapper) is one graceful shutdown", async () => {
    await using child = start();
    await child.url();
    child.kill("SIGINT");
    child.kill("SIGINT");
    child.kill("SIGTERM");
    assertShutDownOnce(await child.exitedWithin(10_000, "the signal"));
  });

  test("a port in use is reported after shutdown ran; run() exits 1", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await using child = start({ run: true, port });
      const exit = await child.exitedWithin(10_000, "it started");
      assert.equal(exit.code, 1);
      assert.match(exit.stderr, new RegExp(`Cannot listen on http://127.0.0.1:${port}`));
      assert.deepEqual(events(exit.stdout), [
        "beforeServing",
        "whileServing start",
        "whileServing end",
        "afterServing",
      ]);
    } finally {
      blocker.close();
    }
  });

  test("a failing startup binds nothing; run() prints the hook and exits 1", async () => {
    const port = await freePort();
    await using child = start({ run: true, port, failStartup: true, holdStartup: true });
    assert.equal(await child.waitFor(/^openDatabase held$/), "openDatabase held", child.stderr);
    assert.equal(await probe(port), "refused", "the port was bound while the hook ran");
    child.kill("SIGUSR2");
    const exit = await child.exitedWithin(10_000, "the failing hook was let go");
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /beforeServing hook openDatabase threw: database is down/);
    assert.ok(!exit.stdout.some((line) => line.startsWith("Running on")), exit.stdout.join("\n"));
    assert.deepEqual(events(exit.stdout), ["beforeServing"]);
  });

  test("work registered at import sees SIGTERM: run() returns with no abandoned task", async () => {
    // backgroundTaskTimeout is 5 s: a task that never saw its signal abort would be abandoned
    // with a warning, and run() would then end the process itself.
    await using child = start({ run: true, earlyTask: true });
    await child.url();
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "the signal");
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(
      exit.stdout.includes("early task stopped; signal taken at import aborted: true"),
      exit.stdout.join("\n"),
    );
    assert.ok(exit.stdout.includes("run returned"), exit.stdout.join("\n"));
    assert.doesNotMatch(exit.stderr, /abandoned/);
  });

  test("run() prints where it runs once bound, and returns after SIGTERM", async () => {
    await using child = start({ run: true });
    const line = await child.waitFor(/^Running on /);
    assert.match(line, /^Running on http:\/\/127\.0\.0\.1:\d+ \(CTRL \+ C to quit\)$/);
    assert.equal((await get(await child.url())).body, "hello");
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "the signal");
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.at(-1), "run returned");
  });

  test("a handler that throws gives a plain 500; the error is logged on the server", async () => {
    await using child = start();
    const url = await child.url();
    const response = await get(`${url}/fail`);
    assert.equal(response.status, 500);
    assert.equal(response.body, "Internal Server Error");
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "the signal");
    assert.match(exit.stderr, /secret detail/);
  });

  test("after the shutdown, SIGTERM is the runtime's again: its default ends the process", async () => {
    await using child = start({ stopItself: true });
    await child.waitFor(/^stopped by itself$/);
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "SIGTERM, with the server stopped");
    assert.deepEqual([exit.code, exit.signal], [null, "SIGTERM"], exit.stderr);
  });

  test("past gracefulTimeout a cut request's signal aborts and serve() leaves nothing running", {
    timeout: 15_000,
  }, async () => {
    // serve(), not run(): nothing calls exit, so the child ends only once the server has let go
    // of everything and the handler, which honours its request's signal, has ended.
    await using child = start({ options: { gracefulTimeout: 100 } });
    const url = await child.url();
    const response = get(`${url}/until-aborted`);
    await child.waitFor(/^until-aborted started$/);
    child.kill("SIGTERM");
    await assert.rejects(response);
    assertShutDownOnce(await child.exitedWithin(10_000, "the signal"));
  });
});

describe(`serve() in-process on ${runtimeName}`, () => {
  test("resolves once listening, with url, hostname and port; shutdown() runs the lifespan", async () => {
    const log: string[] = [];
    const app = new App();
    app.beforeServing(() => void log.push("before"));
    app.afterServing(() => void log.push("after"));
    app.get("/", (c) => c.text("ok"));
    const server = await serve(app, { port: 0, handleSignals: false });
    assert.equal(server.hostname, "127.0.0.1");
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(await (await fetch(server.url)).text(), "ok");
    await server.shutdown();
    await server.finished;
    assert.deepEqual(log, ["before", "after"]);
  });

  test("app.signal is aborted once server.finished settles, fresh when serving again", async () => {
    const app = new App();
    app.get("/", (c) => c.text("ok"));
    const first = await serve(app, { port: 0, handleSignals: false });
    void first.shutdown();
    await first.finished;
    assert.equal(app.signal.aborted, true);
    await using second = await serve(app, { port: 0, handleSignals: false });
    assert.equal(app.signal.aborted, false);
    assert.equal(await (await fetch(second.url)).text(), "ok");
  });

  test("serves a plain Hono app (no hooks), and stops with await using", async () => {
    const hono = new Hono().get("/", (c) => c.text("plain"));
    let url: string;
    {
      await using server = await serve(hono, { port: 0, handleSignals: false });
      url = server.url;
      assert.equal(await (await fetch(url)).text(), "plain");
    }
    await assert.rejects(fetch(url));
  });

  test("the signal option starts a graceful shutdown", async () => {
    const controller = new AbortController();
    let stopped = false;
    const app = new App().afterServing(() => {
      stopped = true;
    });
    const server = await serve(app, { port: 0, handleSignals: false, signal: controller.signal });
    controller.abort();
    await server.finished;
    assert.equal(stopped, true);
  });

  test("a grace period too long for a timer means no limit, not an immediate cut", async () => {
    for (const gracefulTimeout of [Infinity, 2 ** 40]) {
      const started = deferred<void>();
      const release = deferred<void>();
      const app = new App().get("/wait", async (c) => {
        started.resolve();
        await release.promise;
        return c.text("waited");
      });
      const server = await serve(app, { port: 0, handleSignals: false, gracefulTimeout });
      const response = get(`${server.url}/wait`);
      await started.promise;
      const stopped = server.shutdown();
      // A timer that overflowed fires after 1 ms: the connection would be cut by then.
      await new Promise((resolve) => setTimeout(resolve, 20));
      release.resolve();
      assert.deepEqual(await response, { status: 200, body: "waited" });
      await stopped;
    }
  });

  test("onListen gets the bound address", async () => {
    let seen: unknown;
    const server = await serve(new App(), {
      port: 0,
      handleSignals: false,
      onListen: (info) => {
        seen = info;
      },
    });
    assert.deepEqual(seen, { hostname: server.hostname, port: server.port, url: server.url });
    await server.shutdown();
  });

  test("listens for SIGINT and SIGTERM while serving, and not after the shutdown", {
    // Deno's listeners (Deno.addSignalListener) are not counted by `process`: the child test
    // above checks them by their effect.
    skip: runtimeName === "deno" ? "counted through process on Node and Bun" : false,
  }, async () => {
    const counts = () => [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const before = counts();
    const server = await serve(new App(), { port: 0 }); // handleSignals: true, the default
    assert.deepEqual(counts(), before.map((count) => count + 1));
    await server.shutdown();
    assert.deepEqual(counts(), before);
  });

  test("a failed shutdown rejects shutdown() and finished with the ShutdownError", async () => {
    using _ = captureConsole();
    const app = new App().afterServing(function broken() {
      throw new Error("teardown broke");
    });
    const server = await serve(app, { port: 0, handleSignals: false });
    await assert.rejects(server.shutdown(), { name: "ShutdownError" });
    await assert.rejects(server.finished, { name: "ShutdownError" });
  });

  test("a startup failure rejects with the StartupError and binds nothing", async () => {
    const port = await freePort();
    const entered = deferred<void>();
    const release = deferred<void>();
    const app = new App().beforeServing(async () => {
      entered.resolve();
      await release.promise;
      throw new Error("nope");
    });
    const serving = serve(app, { port, handleSignals: false });
    try {
      await entered.promise;
      assert.equal(await probe(port), "refused", "the port was bound while the failing hook ran");
      release.resolve();
      await assert.rejects(serving, { name: "StartupError" });
      assert.equal(await probe(port), "refused", "the port was left bound after the failure");
    } finally {
      release.resolve();
      // A server that came up anyway (the defect looked for) is stopped: the run must end.
      await serving.then((server) => server.shutdown(), () => {});
    }
  });

  test("bad options are a TypeError naming the option and the value", async () => {
    const app = new App();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ port: -1 }, /^port must be an integer from 0 to 65535, got -1$/],
      [{ port: 1.5 }, /^port must be an integer/],
      [{ port: "80" }, /^port must be an integer from 0 to 65535, got "80"$/],
      [{ gracefulTimeout: NaN }, /^gracefulTimeout must be a non-negative number/],
      [{ startupTimeout: -5 }, /^startupTimeout must be a non-negative number/],
      [{ shutdownTimeout: "1" }, /^shutdownTimeout must be/],
      [{ hostname: 42 }, /^hostname must be a non-empty string, got 42$/],
      [{ signal: {} }, /^signal must be an AbortSignal/],
      [{ handleSignals: "yes" }, /^handleSignals must be a boolean/],
      [{ onListen: "log" }, /^onListen expects a function/],
      [{ tls: { cert: 1 } }, /^tls must be an object with cert and key strings/],
      [{ health: { path: "healthz" } }, /^health must be an object with a path starting with "\/"/],
      [{ prot: 80 }, /^Unknown serve\(\) option "prot"$/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(serve(app, options as never), { name: "TypeError", message });
    }
    await assert.rejects(serve({} as never), {
      name: "TypeError",
      message: "serve() expects an app with a fetch method, got an object",
    });
  });

  test("health answers 200 while serving and 503 once shutdown begins", async () => {
    const teardown = deferred<void>();
    const release = deferred<void>();
    const app = new App().afterServing(() => {
      teardown.resolve();
      return release.promise;
    });
    app.get("/", (c) => c.text("app"));
    const server = await serve(app, {
      port: 0,
      handleSignals: false,
      health: { path: "/healthz" },
      shutdownDelay: 200,
    });
    const ready = await fetch(`${server.url}/healthz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const stopped = server.shutdown();
    // During shutdownDelay the server still serves, with readiness already failing.
    const draining = await fetch(`${server.url}/healthz`);
    assert.equal(draining.status, 503);
    await draining.body?.cancel();
    assert.equal(await (await fetch(server.url)).text(), "app");
    await teardown.promise;
    release.resolve();
    await stopped;
  });
});
