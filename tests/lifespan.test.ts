import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, LifespanError, ShutdownError, StartupError } from "../mod.ts";
import { captureConsole, deferred, within } from "./helpers.ts";

/** An app whose hooks record what ran, in order. */
function recordingApp() {
  const log: string[] = [];
  const app = new App();
  app.beforeServing(() => void log.push("before 1"));
  app.beforeServing(async () => {
    await null;
    log.push("before 2");
  });
  app.whileServing(function* () {
    log.push("while 1 start");
    yield;
    log.push("while 1 end");
  });
  app.whileServing(async function* () {
    await null;
    log.push("while 2 start");
    yield;
    log.push("while 2 end");
  });
  app.afterServing(() => void log.push("after 1"));
  app.afterServing(async () => {
    await null;
    log.push("after 2");
  });
  return { app, log };
}

describe("startup() and shutdown()", () => {
  test("run hooks in order at startup and in reverse at shutdown", async () => {
    const { app, log } = recordingApp();
    await app.startup();
    assert.deepEqual(log, ["before 1", "before 2", "while 1 start", "while 2 start"]);
    await app.shutdown();
    assert.deepEqual(log.slice(4), ["while 2 end", "while 1 end", "after 2", "after 1"]);
  });

  test("the app can start again after it shut down, calling generators anew", async () => {
    const { app, log } = recordingApp();
    await app.startup();
    await app.shutdown();
    log.length = 0;
    await app.startup();
    await app.shutdown();
    assert.deepEqual(log, [
      "before 1",
      "before 2",
      "while 1 start",
      "while 2 start",
      "while 2 end",
      "while 1 end",
      "after 2",
      "after 1",
    ]);
  });

  test("registration methods return the app, for chaining", () => {
    const app = new App();
    assert.equal(app.beforeServing(() => {}), app);
    assert.equal(app.afterServing(() => {}), app);
    assert.equal(app.whileServing(function* () {}), app);
  });

  test("startup() on a started app rejects with a clear error", async () => {
    const app = new App();
    await app.startup();
    await assert.rejects(app.startup(), { message: "Cannot start app: it is already started" });
    await app.shutdown();
  });

  test("shutdown() on an app never started rejects with a clear error", async () => {
    await assert.rejects(new App().shutdown(), {
      message: "Cannot shut down app: it is not started",
    });
  });

  test("shutdown() called twice runs the teardown once", async () => {
    const { app, log } = recordingApp();
    await app.startup();
    await Promise.all([app.shutdown(), app.shutdown()]);
    assert.equal(log.filter((line) => line === "after 1").length, 1);
  });

  test("app.signal is aborted when shutdown begins and fresh after a restart", async () => {
    const app = new App();
    let abortedDuringTeardown: boolean | undefined;
    app.afterServing(() => {
      abortedDuringTeardown = app.signal.aborted;
    });
    await app.startup();
    const first = app.signal;
    assert.equal(first.aborted, false);
    await app.shutdown();
    assert.equal(first.aborted, true);
    assert.equal(app.signal.aborted, true);
    assert.equal(abortedDuringTeardown, true);
    await app.startup();
    assert.equal(app.signal.aborted, false);
    await app.shutdown();
  });

  test("app.signal read before the first startup aborts when that serving period ends", async () => {
    const app = new App();
    const early = app.signal; // e.g. captured by a stream helper at import
    await app.startup();
    assert.equal(early.aborted, false);
    await app.shutdown();
    assert.equal(early.aborted, true);
  });

  test("app.signal stays aborted after a shutdown until the next startup begins", async () => {
    const app = new App();
    let duringRestart: AbortSignal | undefined;
    app.beforeServing(() => {
      duringRestart = app.signal;
    });
    await app.startup();
    const first = app.signal;
    await app.shutdown();
    assert.equal(app.signal.aborted, true);
    assert.equal(app.signal, first);
    await app.startup();
    // Fresh as the restart's startup begins: its hooks already see the new period's signal.
    assert.notEqual(duringRestart, first);
    assert.equal(duringRestart?.aborted, false);
    assert.equal(app.signal, duringRestart);
    await app.shutdown();
    assert.equal(app.signal.aborted, true);
  });

  test("a background task added between two serving periods gets the aborted signal", async () => {
    const app = new App();
    await app.startup();
    await app.shutdown();
    const got = deferred<AbortSignal>();
    app.addBackgroundTask((signal) => got.resolve(signal));
    assert.equal((await got.promise).aborted, true);
  });

  test("a loop on app.signal that outlives the shutdown ends when it wakes", async () => {
    const app = new App();
    await app.startup();
    const wake = deferred<void>();
    let rounds = 0;
    const loop = (async () => {
      // Bounded, so that a regression fails instead of going round forever.
      while (!app.signal.aborted && rounds < 3) {
        rounds++;
        await wake.promise; // asleep through the whole shutdown, the first time round
      }
    })();
    await app.shutdown();
    wake.resolve();
    await loop;
    assert.equal(rounds, 1, "the loop went round again after the shutdown");
  });

  test("a failed startup aborts app.signal; the next attempt gets a fresh one", async () => {
    let fail = true;
    const app = new App().beforeServing(() => {
      if (fail) throw new Error("down");
    });
    const early = app.signal;
    await assert.rejects(app.startup(), StartupError);
    assert.equal(early.aborted, true);
    assert.equal(app.signal.aborted, true);
    fail = false;
    await app.startup();
    assert.equal(app.signal.aborted, false);
    await app.shutdown();
  });

  test("state set at startup is visible in handlers and kept until shutdown", async () => {
    const app = new App<{ State: { greeting: string } }>();
    app.beforeServing(() => {
      app.state.greeting = "hello";
    });
    app.get("/", (c) => c.text(app.state.greeting));
    await app.startup();
    assert.equal(await (await app.request("/")).text(), "hello");
    await app.shutdown();
  });

  test("an App never has a stop member (Bun would not auto-serve it)", () => {
    assert.equal("stop" in new App(), false);
  });
});

describe("a failing startup", () => {
  test("closes the generators already started, last first, and skips afterServing", async () => {
    const log: string[] = [];
    const app = new App();
    app.afterServing(() => void log.push("after"));
    app.whileServing(function* first() {
      try {
        yield;
      } finally {
        log.push("first closed");
      }
    });
    app.whileServing(async function* second() {
      try {
        yield;
      } finally {
        log.push("second closed");
      }
    });
    app.whileServing(function* third() {
      if (log.length === 0) throw new Error("no connection");
      yield;
    });
    const error = await app.startup().catch((error) => error);
    assert.ok(error instanceof StartupError);
    assert.ok(error instanceof LifespanError);
    assert.equal(error.name, "StartupError");
    assert.equal(error.hook, "third");
    assert.equal(error.message, "Startup failed: whileServing hook third threw: no connection");
    assert.equal((error.cause as Error).message, "no connection");
    assert.deepEqual(log, ["second closed", "first closed"]);
  });

  test("names an anonymous hook by its place", async () => {
    const app = new App();
    app.beforeServing(() => {});
    app.beforeServing(() => {
      throw new TypeError("bad config");
    });
    await assert.rejects(app.startup(), {
      name: "StartupError",
      hook: "beforeServing hook #2",
      message: "Startup failed: beforeServing hook #2 threw: bad config",
    });
  });

  test("leaves the app stopped, so that it can start again", async () => {
    let fail = true;
    const app = new App().beforeServing(() => {
      if (fail) throw new Error("once");
    });
    await assert.rejects(app.startup(), StartupError);
    fail = false;
    await app.startup();
    await app.shutdown();
  });

  test("reports a generator that returns without yielding", async () => {
    const app = new App().whileServing(function* noYield() {});
    await assert.rejects(app.startup(), {
      name: "StartupError",
      message: "Startup failed: whileServing hook noYield returned without yielding",
    });
  });

  test("reports a whileServing hook that is not a generator function", async () => {
    const app = new App().whileServing((() => 42) as never);
    await assert.rejects(app.startup(), {
      name: "StartupError",
      message: /whileServing hook #1 threw: whileServing hook #1 must be a generator function/,
    });
  });

  test("a hook pending past the timeout fails startup, naming it and the milliseconds", async () => {
    const log: string[] = [];
    const app = new App();
    app.whileServing(function* opened() {
      try {
        yield;
      } finally {
        log.push("opened closed");
      }
    });
    app.beforeServing(function waitForever() {
      return new Promise(() => {});
    });
    await assert.rejects(app.startup({ timeout: 20 }), {
      name: "StartupError",
      hook: "waitForever",
      message: "Startup timed out after 20 ms: beforeServing hook waitForever was still pending",
    });
    // beforeServing hooks all run before generators: nothing had started yet.
    assert.deepEqual(log, []);
  });

  test("a timeout closes started generators, and one that starts late is closed too", async () => {
    const log: string[] = [];
    const late = deferred<void>();
    const lateClosed = deferred<void>();
    const app = new App();
    app.whileServing(function* early() {
      try {
        yield;
      } finally {
        log.push("early closed");
      }
    });
    app.whileServing(async function* () {
      await late.promise;
      try {
        yield;
      } finally {
        log.push("late closed");
        lateClosed.resolve();
      }
    });
    await assert.rejects(app.startup({ timeout: 20 }), {
      message: "Startup timed out after 20 ms: whileServing hook #2 was still pending",
      hook: "whileServing hook #2",
    });
    assert.deepEqual(log, ["early closed"]);
    late.resolve();
    // It reaches its yield after the timeout: it is closed then, at once (1 s of slack).
    await within(lateClosed.promise, 1000, () => "the generator that started late was not closed");
    assert.deepEqual(log, ["early closed", "late closed"]);
  });
});

describe("a failing shutdown", () => {
  test("runs every step and reports every error in one ShutdownError", async () => {
    const log: string[] = [];
    const app = new App();
    app.afterServing(function closePool() {
      log.push("closePool");
      throw new Error("pool busy");
    });
    app.afterServing(() => void log.push("after 2"));
    app.whileServing(async function* smtp() {
      yield;
      log.push("smtp");
      throw new Error("smtp stuck");
    });
    await app.startup();
    const error = await app.shutdown().catch((error) => error);
    assert.ok(error instanceof ShutdownError);
    assert.deepEqual(log, ["smtp", "after 2", "closePool"]);
    assert.deepEqual(error.errors.map((e) => (e as Error).message), ["smtp stuck", "pool busy"]);
    assert.equal(error.cause, error.errors[0]);
    assert.equal(
      error.message,
      "Shutdown failed: whileServing hook smtp threw: smtp stuck; afterServing hook closePool threw: pool busy",
    );
  });

  test("reports a generator that yields a second time and still closes it", async () => {
    const log: string[] = [];
    const app = new App().whileServing(function* twice() {
      try {
        yield;
        yield;
      } finally {
        log.push("closed");
      }
    });
    await app.startup();
    await assert.rejects(app.shutdown(), {
      name: "ShutdownError",
      message:
        "Shutdown failed: whileServing hook twice yielded a second time: a whileServing generator yields once",
    });
    assert.deepEqual(log, ["closed"]);
  });

  test("a step pending past the timeout is reported and the next steps still run", async () => {
    const log: string[] = [];
    const app = new App();
    app.afterServing(() => void log.push("closed the rest"));
    app.afterServing(function hang() {
      return new Promise(() => {});
    });
    await app.startup();
    await assert.rejects(app.shutdown({ timeout: 20 }), {
      name: "ShutdownError",
      message: "Shutdown failed: afterServing hook hang did not finish within 20 ms",
    });
    assert.deepEqual(log, ["closed the rest"]);
  });
});

describe("misuse", () => {
  test("registering a hook that is not a function is a TypeError naming it", () => {
    const app = new App();
    assert.throws(() => app.beforeServing("nope" as never), {
      name: "TypeError",
      message: 'beforeServing() expects a function, got "nope"',
    });
    assert.throws(() => app.afterServing(undefined as never), {
      name: "TypeError",
      message: "afterServing() expects a function, got undefined",
    });
    assert.throws(() => app.addBackgroundTask(42 as never), {
      name: "TypeError",
      message: "addBackgroundTask() expects a function, got 42",
    });
  });

  test("whileServing() rejects an async function: it must be a generator function", () => {
    assert.throws(() => new App().whileServing((async () => {}) as never), {
      name: "TypeError",
      message: /whileServing\(\) expects a generator function/,
    });
  });

  test("a bad timeout is a TypeError naming it and the value", async () => {
    await assert.rejects(new App().startup({ timeout: -1 }), {
      name: "TypeError",
      message: "timeout must be a non-negative number of milliseconds, got -1",
    });
    await assert.rejects(new App().startup({ timeout: NaN }), { name: "TypeError" });
    await assert.rejects(new App().startup({ tiemout: 5 } as never), {
      name: "TypeError",
      message: 'Unknown startup() option "tiemout"',
    });
    assert.throws(() => new App({ backgroundTaskTimeout: "5s" as never }), {
      name: "TypeError",
      message: 'backgroundTaskTimeout must be a non-negative number of milliseconds, got "5s"',
    });
  });
});

describe("sub-apps mounted with route()", () => {
  test("join the parent's lifespan: parent starts first and tears down last", async () => {
    const log: string[] = [];
    const parent = new App();
    const child = new App();
    const grandchild = new App();
    for (
      const [name, app] of [["parent", parent], ["child", child], [
        "grandchild",
        grandchild,
      ]] as const
    ) {
      app.beforeServing(() => void log.push(`${name} before`));
      app.whileServing(function* () {
        log.push(`${name} start`);
        yield;
        log.push(`${name} end`);
      });
      app.afterServing(() => void log.push(`${name} after`));
    }
    child.route("/deeper", grandchild);
    parent.route("/child", child);
    await parent.startup();
    await parent.shutdown();
    assert.deepEqual(log, [
      "parent before",
      "parent start",
      "child before",
      "child start",
      "grandchild before",
      "grandchild start",
      "grandchild end",
      "grandchild after",
      "child end",
      "child after",
      "parent end",
      "parent after",
    ]);
  });

  test("their routes are served by the parent, and abort their signal at shutdown", async () => {
    const parent = new App();
    const child = new App();
    child.get("/hello", (c) => c.text("from child"));
    parent.route("/child", child);
    await parent.startup();
    assert.equal(await (await parent.request("/child/hello")).text(), "from child");
    const signal = child.signal;
    assert.equal(signal.aborted, false);
    await parent.shutdown();
    assert.equal(signal.aborted, true);
  });

  test("an app mounted twice joins the lifespan once", async () => {
    const log: string[] = [];
    const parent = new App();
    const api = new App();
    api.beforeServing(() => void log.push("api before"));
    api.whileServing(function* () {
      log.push("api start");
      yield;
      log.push("api end");
    });
    api.afterServing(() => void log.push("api after"));
    api.get("/ping", (c) => c.text("pong"));
    parent.route("/v1", api);
    parent.route("/v2", api);
    await parent.startup();
    assert.equal(await (await parent.request("/v2/ping")).text(), "pong");
    await parent.shutdown();
    assert.deepEqual(log, ["api before", "api start", "api end", "api after"]);
  });

  test("an app reached by two paths (a diamond) joins the lifespan once", async () => {
    const log: string[] = [];
    const root = new App();
    const left = new App();
    const right = new App();
    const shared = new App().beforeServing(() => void log.push("shared before"));
    left.route("/shared", shared);
    right.route("/shared", shared);
    root.route("/left", left);
    root.route("/right", right);
    await root.startup();
    await root.shutdown();
    assert.deepEqual(log, ["shared before"]);
  });

  test("a mount cycle is a TypeError naming the path, not infinite recursion", () => {
    const a = new App();
    const b = new App();
    assert.throws(() => a.route("/self", a), {
      name: "TypeError",
      message: /Cannot mount an app at "\/self": it would contain itself/,
    });
    a.route("/b", b);
    assert.throws(() => b.route("/a", a), {
      name: "TypeError",
      message: /Cannot mount an app at "\/a": it would contain itself/,
    });
  });

  test("a failing sub-app startup closes the parent's generators", async () => {
    const log: string[] = [];
    const parent = new App().whileServing(function* () {
      try {
        yield;
      } finally {
        log.push("parent closed");
      }
    });
    const child = new App().beforeServing(function childHook() {
      throw new Error("child failed");
    });
    parent.route("/child", child);
    await assert.rejects(parent.startup(), { hook: "childHook" });
    assert.deepEqual(log, ["parent closed"]);
  });
});

describe("background tasks", () => {
  test("run in the background and are awaited at shutdown", async () => {
    const app = new App();
    const log: string[] = [];
    await app.startup();
    app.addBackgroundTask(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push("task done");
    });
    log.push("added");
    await app.shutdown();
    assert.deepEqual(log, ["added", "task done"]);
  });

  test("get a signal that aborts when shutdown begins", async () => {
    const app = new App();
    await app.startup();
    let sawAbort = false;
    const started = deferred<void>();
    app.addBackgroundTask(async (signal) => {
      const aborted = new Promise((resolve) => signal.addEventListener("abort", resolve));
      started.resolve();
      await aborted;
      sawAbort = true;
    });
    await started.promise;
    await app.shutdown();
    assert.equal(sawAbort, true);
  });

  test("added during shutdown are awaited too", async () => {
    const app = new App();
    const log: string[] = [];
    app.afterServing(() => void log.push("after"));
    await app.startup();
    app.addBackgroundTask(async () => {
      await null;
      app.addBackgroundTask(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push("second task");
      });
    });
    await app.shutdown();
    assert.deepEqual(log, ["second task", "after"]);
  });

  test("added before startup see their signal abort at shutdown", async () => {
    using output = captureConsole();
    const app = new App({ backgroundTaskTimeout: 60_000 });
    let sawAbort = false;
    app.addBackgroundTask(async (signal) => {
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      sawAbort = true;
    });
    await app.startup();
    await app.shutdown(); // would wait the whole backgroundTaskTimeout if the signal never aborted
    assert.equal(sawAbort, true);
    assert.deepEqual(output.warnings, []);
  });

  test("log their errors and never reject anything", async () => {
    using output = captureConsole();
    const app = new App();
    await app.startup();
    app.addBackgroundTask(async function failing() {
      await null;
      throw new Error("task broke");
    });
    await app.shutdown();
    assert.equal(output.errors.length, 1);
    assert.match(String(output.errors[0]?.[0]), /Background task failing failed/);
    assert.equal((output.errors[0]?.[1] as Error).message, "task broke");
  });

  test("that ignore their signal are abandoned after backgroundTaskTimeout, with a warning", async () => {
    using output = captureConsole();
    const app = new App({ backgroundTaskTimeout: 20 });
    const log: string[] = [];
    app.afterServing(() => void log.push("after"));
    await app.startup();
    app.addBackgroundTask(() => new Promise(() => {}));
    await app.shutdown();
    assert.deepEqual(log, ["after"]);
    assert.match(
      String(output.warnings[0]?.[0]),
      /1 background task\(s\) did not finish within 20 ms of shutdown and were abandoned/,
    );
  });
});
