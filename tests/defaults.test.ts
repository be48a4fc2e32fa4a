/**
 * The documented defaults, each seen at work: `serve()`'s `gracefulTimeout` (3000 ms),
 * `startupTimeout` and `shutdownTimeout` (60000 ms), `App`'s `backgroundTaskTimeout` (5000 ms)
 * and `testApp()`'s timeouts (6000 ms each). Timers of a second or more fire at once here, so
 * that no test waits for the default it checks: the message, which names the milliseconds the
 * timeout was set to, and the timer the library asked for, show the default.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, serve } from "../mod.ts";
import { captureConsole, deferred } from "./helpers.ts";

const never = new Promise<never>(() => {});

/**
 * Until disposed, a `setTimeout` of 1000 ms or more fires at once; `delays` keeps every delay
 * asked for.
 */
function fastTimers(): { delays: number[]; [Symbol.dispose](): void } {
  const { setTimeout } = globalThis;
  const delays: number[] = [];
  const fast = (handler: () => void, ms = 0, ...args: unknown[]) => {
    delays.push(ms);
    return setTimeout(handler, ms >= 1000 ? 0 : ms, ...args);
  };
  globalThis.setTimeout = fast as typeof globalThis.setTimeout;
  return {
    delays,
    [Symbol.dispose]() {
      globalThis.setTimeout = setTimeout;
    },
  };
}

describe("the documented defaults", () => {
  test("testApp() gives startup 6000 ms", async () => {
    using timers = fastTimers();
    const app = new App().beforeServing(function hang() {
      return never;
    });
    await assert.rejects(app.testApp(), {
      name: "StartupError",
      message: "Startup timed out after 6000 ms: beforeServing hook hang was still pending",
    });
    assert.ok(timers.delays.includes(6000), `timers asked for: ${timers.delays}`);
  });

  test("testApp() gives each shutdown step 6000 ms", async () => {
    const app = new App().afterServing(function hang() {
      return never;
    });
    const testApp = await app.testApp();
    using timers = fastTimers();
    await assert.rejects(testApp.shutdown(), {
      name: "ShutdownError",
      message: "Shutdown failed: afterServing hook hang did not finish within 6000 ms",
    });
    assert.ok(timers.delays.includes(6000), `timers asked for: ${timers.delays}`);
  });

  test("a background task that ignores its signal is abandoned after 5000 ms", async () => {
    using console = captureConsole();
    const app = new App();
    app.addBackgroundTask(async function stubborn() {
      await never;
    });
    const testApp = await app.testApp();
    using timers = fastTimers();
    await testApp.shutdown();
    assert.deepEqual(console.warnings, [[
      "1 background task(s) did not finish within 5000 ms of shutdown and were abandoned: stubborn",
    ]]);
    assert.ok(timers.delays.includes(5000), `timers asked for: ${timers.delays}`);
  });

  test("serve() gives startup 60000 ms", async () => {
    using timers = fastTimers();
    const app = new App().beforeServing(function hang() {
      return never;
    });
    await assert.rejects(serve(app, { port: 0, handleSignals: false }), {
      name: "StartupError",
      message: "Startup timed out after 60000 ms: beforeServing hook hang was still pending",
    });
    assert.ok(timers.delays.includes(60000), `timers asked for: ${timers.delays}`);
  });

  test("serve() gives each shutdown step 60000 ms", async () => {
    const app = new App().afterServing(function hang() {
      return never;
    });
    const server = await serve(app, { port: 0, handleSignals: false });
    using timers = fastTimers();
    await assert.rejects(server.shutdown(), {
      name: "ShutdownError",
      message: "Shutdown failed: afterServing hook hang did not finish within 60000 ms",
    });
    assert.ok(timers.delays.includes(60000), `timers asked for: ${timers.delays}`);
  });

  test("serve() cuts a request still running after 3000 ms", async () => {
    using console = captureConsole();
    const started = deferred<void>();
    const app = new App().get("/hang", (c) => {
      started.resolve();
      // Ends when the cut aborts its request: nothing else ends it.
      return new Promise<Response>((resolve) => {
        c.req.raw.signal.addEventListener("abort", () => resolve(c.text("cut")), { once: true });
      });
    });
    const server = await serve(app, { port: 0, handleSignals: false });
    const response = fetch(`${server.url}/hang`).then((response) => response.text())
      .catch((error: Error) => error.message);
    await started.promise;
    using timers = fastTimers();
    await server.shutdown();
    await response;
    const cut = console.warnings.flat().find((line) => /^Cut GET \/hang/.test(String(line)));
    assert.match(String(cut), /^Cut GET \/hang after \d+ ms: the 3000 ms grace period is over$/);
    assert.ok(timers.delays.includes(3000), `timers asked for: ${timers.delays}`);
  });
});
