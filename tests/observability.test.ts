/**
 * Observability (issue 16): every line the library writes goes through the logger given, with
 * structured fields; hooks are timed and a pending one is reported; a server's stop is told
 * (why, what was open, what was cut, how long it took); the same facts reach subscribers of
 * `node:diagnostics_channel`.
 */
import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { afterEach, beforeEach, describe, test } from "node:test";
import { Hono } from "hono";
import {
  App,
  DIAGNOSTICS_CHANNELS,
  type HookMessage,
  type LogFields,
  type Logger,
  type PhaseMessage,
  serve,
  type ServerMessage,
} from "../mod.ts";
import { stillWaiting } from "../src/core/phases.ts";
import { Child } from "./child.ts";
import { deferred, runtimeName } from "./helpers.ts";

interface LogRecord {
  level: keyof Logger;
  message: string;
  fields?: LogFields;
}

/** A logger that keeps its records. */
function recordingLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: LogFields) =>
    void records.push({ level, message, fields });
  return { records, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

/** Records every console call until disposed (and prints none of them). */
function watchConsole(): { calls: string[]; [Symbol.dispose](): void } {
  const saved = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
  const calls: string[] = [];
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args: unknown[]) => void calls.push(`${method}: ${args.join(" ")}`);
  }
  return {
    calls,
    [Symbol.dispose]() {
      for (const [method, original] of saved) console[method] = original;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function find(records: LogRecord[], pattern: RegExp): LogRecord {
  const found = records.find((record) => pattern.test(record.message));
  assert.ok(found, `no record matches ${pattern}; got:\n${lines(records)}`);
  return found;
}

function lines(records: LogRecord[]): string {
  return records.map((record) => `${record.level} ${record.message}`).join("\n");
}

/** An app with a timed hook of each kind, a route that throws and one that waits for `release`. */
function timedApp(logger: Logger, release: Promise<unknown>) {
  const app = new App({ logger });
  app.beforeServing(async function connectDb() {
    await sleep(30);
  });
  app.beforeServing(() => {}); // quick and anonymous: left out of the summary's parentheses
  app.whileServing(async function* cache() {
    await sleep(10);
    yield;
    await sleep(5);
  });
  app.afterServing(function closeDb() {});
  app.get("/boom", () => {
    throw new Error("handler broke");
  });
  const began = deferred<void>();
  app.get("/slow", async (c) => {
    began.resolve();
    await release;
    return c.text("late");
  });
  return { app, slowBegan: began.promise };
}

describe("logging", () => {
  test("every line of a serve() goes to the logger with its fields, none to the console", async () => {
    const logger = recordingLogger();
    const release = deferred<void>();
    const { app, slowBegan } = timedApp(logger, release.promise);
    using output = watchConsole();
    try {
      const server = await serve(app, { port: 0, handleSignals: false, gracefulTimeout: 150 });
      const boom = await fetch(`${server.url}/boom`);
      assert.equal(boom.status, 500);
      assert.equal(await boom.text(), "Internal Server Error");
      const slow = fetch(`${server.url}/slow?secret=1`).then((response) => response.text());
      slow.catch(() => {});
      await slowBegan;
      await server.shutdown();
      await slow.catch(() => {}); // cut: a broken or failed response, as the runtime does it
    } finally {
      release.resolve();
    }
    assert.deepEqual(output.calls, []);
    const { records } = logger;

    // Startup: each hook at debug, the summary at info.
    const connectDb = find(records, /^beforeServing hook connectDb took [\d.]+ ms$/);
    assert.equal(connectDb.level, "debug");
    assert.deepEqual(Object.keys(connectDb.fields!).sort(), [
      "durationMs",
      "hook",
      "kind",
      "phase",
    ]);
    assert.equal(connectDb.fields!.phase, "startup");
    assert.equal(connectDb.fields!.hook, "connectDb");
    assert.ok((connectDb.fields!.durationMs as number) >= 25, String(connectDb.fields!.durationMs));
    find(records, /^beforeServing hook #2 took [\d.]+ ms$/);
    find(records, /^whileServing hook cache took [\d.]+ ms$/);
    const started = find(records, /^Started in \d+ ms/);
    assert.equal(started.level, "info");
    assert.match(started.message, /^Started in \d+ ms \(connectDb \d+ ms, cache \d+ ms\)$/);
    assert.equal(started.fields!.phase, "startup");
    assert.deepEqual(
      (started.fields!.hooks as { hook: string }[]).map((timing) => timing.hook),
      ["connectDb", "beforeServing hook #2", "cache"],
    );

    // The handler's error, through the app's logger.
    const failed = find(records, /^Request failed: GET \/boom: handler broke$/);
    assert.equal(failed.level, "error");
    assert.equal(failed.fields!.method, "GET");
    assert.equal(failed.fields!.path, "/boom");
    assert.equal((failed.fields!.err as Error).message, "handler broke");

    // The stop, told.
    const stopping = find(records, /^Shutting down \(server\.shutdown\(\)\): 1 request, /);
    assert.equal(stopping.level, "info");
    assert.equal(stopping.fields!.reason, "server.shutdown()");
    assert.equal(stopping.fields!.requests, 1);
    assert.equal(stopping.fields!.websockets, 0);
    // Only Node tells its connections.
    assert.equal(
      typeof stopping.fields!.connections,
      runtimeName === "node" ? "number" : "undefined",
    );
    const cut = find(records, /^Cut GET \/slow after \d+ ms: the 150 ms grace period is over$/);
    assert.equal(cut.level, "warn");
    assert.equal(cut.fields!.method, "GET");
    assert.equal(cut.fields!.path, "/slow");
    assert.ok((cut.fields!.durationMs as number) >= 150, String(cut.fields!.durationMs));
    const teardown = find(records, /^afterServing hook closeDb took [\d.]+ ms$/);
    assert.equal(teardown.fields!.phase, "shutdown");
    find(records, /^whileServing hook cache took [\d.]+ ms$/);
    const stopped = find(records, /^Stopped in \d+ ms \(drain \d+ ms, teardown \d+ ms\)$/);
    assert.equal(stopped.level, "info");
    assert.deepEqual(Object.keys(stopped.fields!).sort(), [
      "drainMs",
      "durationMs",
      "reason",
      "teardownMs",
    ]);
    assert.ok((stopped.fields!.drainMs as number) >= 150, String(stopped.fields!.drainMs));
    // In the order they happened.
    assert.ok(records.indexOf(started) < records.indexOf(stopping));
    assert.ok(records.indexOf(stopping) < records.indexOf(cut));
    assert.ok(records.indexOf(cut) < records.indexOf(teardown));
    assert.ok(records.indexOf(teardown) < records.indexOf(stopped));
  });

  test("serve(app, { logger }) takes the app's lines too, away from its own logger", async () => {
    const own = recordingLogger();
    const given = recordingLogger();
    const app = new App({ logger: own });
    app.beforeServing(function connectDb() {
      app.addBackgroundTask(() => {
        throw new Error("task broke");
      });
    });
    using output = watchConsole();
    const server = await serve(app, { port: 0, handleSignals: false, logger: given });
    await server.shutdown();
    assert.deepEqual(output.calls, []);
    assert.deepEqual(own.records, []);
    find(given.records, /^beforeServing hook connectDb took/);
    find(given.records, /^Background task \(anonymous\) failed: task broke$/);
    find(given.records, /^Stopped in/);
  });

  test("serve() of a plain Hono app takes a logger for the server's lines", async () => {
    const logger = recordingLogger();
    const hono = new Hono().get("/", (c) => c.text("hello"));
    using output = watchConsole();
    const server = await serve(hono, { port: 0, handleSignals: false, logger });
    assert.equal(await (await fetch(server.url)).text(), "hello");
    await server.shutdown();
    assert.deepEqual(output.calls, []);
    // The fetch client may keep its connection alive: Node counts it.
    const messages = logger.records.map((record) => record.message);
    assert.equal(messages.length, 2, messages.join("\n"));
    const connections = runtimeName === "node" ? "[01] connections?, " : "";
    assert.match(
      messages[0]!,
      new RegExp(
        `^Shutting down \\(server\\.shutdown\\(\\)\\): 0 requests, ${connections}0 WebSockets open$`,
      ),
    );
    assert.match(messages[1]!, /^Stopped in \d+ ms \(drain \d+ ms, teardown \d+ ms\)$/);
  });

  test("serve() on the default console prints nothing of a clean start and stop", async () => {
    const app = new App();
    app.beforeServing(async function connectDb() {
      await sleep(5);
    });
    using output = watchConsole();
    const server = await serve(app, { port: 0, handleSignals: false });
    assert.equal((await fetch(server.url)).status, 404);
    await server.shutdown();
    assert.deepEqual(output.calls, []);
  });

  test("testApp() logs its summaries at debug: a test run prints nothing", async () => {
    const logger = recordingLogger();
    const app = new App({ logger });
    app.beforeServing(function connectDb() {});
    await (await app.testApp()).shutdown();
    assert.deepEqual(logger.records.map((record) => record.level), [
      "debug", // connectDb took
      "debug", // Started in
      "debug", // Shutdown hooks ran in
    ]);
    assert.match(logger.records[1]!.message, /^Started in \d+ ms( \(connectDb \d+ ms\))?$/);
    assert.match(logger.records[2]!.message, /^Shutdown hooks ran in \d+ ms$/);
  });

  test("a user's onError wins over the logging default, also for a mounted App", async () => {
    const logger = recordingLogger();
    const parent = new App({ logger });
    const child = new App({ logger });
    child.get("/boom", () => {
      throw new Error("child broke");
    });
    parent.onError((error, c) => c.text(`handled: ${error.message}`, 418));
    parent.route("/child", child);
    const response = await parent.request("/child/boom");
    assert.equal(response.status, 418);
    assert.equal(await response.text(), "handled: child broke");
    assert.deepEqual(logger.records, []);
    // Mounted, the child's own default did not get in the way; alone, it logs.
    const alone = await child.request("/boom");
    assert.equal(alone.status, 500);
    find(logger.records, /^Request failed: GET \/boom: child broke$/);
  });
});

describe("a hook still pending", () => {
  const interval = stillWaiting.intervalMs;
  beforeEach(() => stillWaiting.intervalMs = 40);
  afterEach(() => stillWaiting.intervalMs = interval);

  test("is reported every interval, at startup and at shutdown, until it settles", async () => {
    const logger = recordingLogger();
    const app = new App({ logger });
    app.beforeServing(async function connectDb() {
      await sleep(110);
    });
    app.afterServing(async () => {
      await sleep(110);
    });
    const testApp = await app.testApp();
    const atStartup = logger.records.filter((record) => /^Still waiting/.test(record.message));
    // Two, unless a busy machine delayed the timer (the lines never come early).
    assert.ok(atStartup.length >= 1 && atStartup.length <= 2, lines(logger.records));
    assert.deepEqual(
      atStartup.map((record) => record.message),
      ["Still waiting for connectDb after 0.04 s", "Still waiting for connectDb after 0.08 s"]
        .slice(0, atStartup.length),
    );
    assert.equal(atStartup[0]!.level, "info");
    assert.deepEqual(atStartup[0]!.fields, {
      phase: "startup",
      hook: "connectDb",
      kind: "beforeServing",
      waitedMs: 40,
    });
    await testApp.shutdown();
    const atShutdown = logger.records.filter((record) =>
      /^Still waiting for afterServing hook #1/.test(record.message)
    );
    assert.ok(atShutdown.length >= 1 && atShutdown.length <= 2, lines(logger.records));
    assert.equal(atShutdown[0]!.fields!.phase, "shutdown");
    // Settled: nothing more, no timer left.
    const count = logger.records.length;
    await sleep(120);
    assert.equal(logger.records.length, count);
  });

  test("is no longer reported once startup timed out on it", async () => {
    const logger = recordingLogger();
    const app = new App({ logger });
    app.beforeServing(function hangs() {
      return new Promise(() => {});
    });
    await assert.rejects(app.testApp({ startupTimeout: 60 }), /hangs was still pending/);
    const count = logger.records.length;
    await sleep(120);
    assert.equal(logger.records.length, count, lines(logger.records));
  });

  test("is reported after 5 s by default", () => {
    assert.equal(interval, 5000);
  });
});

describe("diagnostics_channel", () => {
  test("a subscriber sees the phases, each hook, and the server's stop", async () => {
    const events: string[] = [];
    const hooks: HookMessage[] = [];
    const phases: PhaseMessage[] = [];
    const server: ServerMessage[] = [];
    const app = new App({ logger: recordingLogger() });
    const tracing = (name: "startup" | "shutdown" | "hook") => ({
      start: () => void events.push(`${name} start`),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (message: unknown) => {
        events.push(`${name} asyncEnd`);
        if (name === "hook") hooks.push(message as HookMessage);
        else phases.push(message as PhaseMessage);
      },
      error: () => void events.push(`${name} error`),
    });
    const subscribers = (["startup", "shutdown", "hook"] as const).map((name) => {
      const channel = diagnosticsChannel.tracingChannel(DIAGNOSTICS_CHANNELS[name]);
      const handlers = tracing(name);
      channel.subscribe(handlers);
      return () => channel.unsubscribe(handlers);
    });
    const onServer = (message: unknown) => {
      if ((message as ServerMessage).app === app) server.push(message as ServerMessage);
    };
    diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.server, onServer);
    try {
      app.beforeServing(async function connectDb() {
        await sleep(5);
      });
      app.afterServing(function closeDb() {
        throw new Error("close failed");
      });
      app.get("/", (c) => c.text("ok"));
      const running = await serve(app, { port: 0, handleSignals: false });
      // Requests publish nothing: the events below are the same with none.
      for (let i = 0; i < 3; i++) assert.equal(await (await fetch(running.url)).text(), "ok");
      await assert.rejects(running.shutdown(), /close failed/);
    } finally {
      for (const unsubscribe of subscribers) unsubscribe();
      diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS.server, onServer);
    }
    assert.deepEqual(events, [
      "startup start",
      "hook start",
      "hook asyncEnd",
      "startup asyncEnd",
      "shutdown start",
      "hook start",
      "hook error",
      "hook asyncEnd",
      "shutdown asyncEnd",
    ]);
    assert.equal(hooks[0]!.app, app);
    assert.equal(hooks[0]!.phase, "startup");
    assert.equal(hooks[0]!.kind, "beforeServing");
    assert.equal(hooks[0]!.hook, "connectDb");
    assert.ok(hooks[0]!.durationMs! >= 4, String(hooks[0]!.durationMs));
    assert.equal(hooks[1]!.hook, "closeDb");
    assert.equal((hooks[1]!.error as Error).message, "close failed");
    assert.deepEqual(phases.map((phase) => [phase.app === app, phase.phase]), [
      [true, "startup"],
      [true, "shutdown"],
    ]);
    assert.deepEqual(phases[0]!.hooks!.map((timing) => timing.hook), ["connectDb"]);
    assert.equal(typeof phases[0]!.durationMs, "number");
    assert.deepEqual(server.map((message) => message.type), ["listening", "stopping", "stopped"]);
    const [listening, stopping, stopped] = server;
    running(listening!);
    assert.equal(stopping!.type === "stopping" && stopping.reason, "server.shutdown()");
    assert.equal(stopping!.type === "stopping" && stopping.requests, 0);
    assert.ok(stopped!.type === "stopped");
    assert.equal(stopped.failed, true);
    assert.equal(stopped.cut, false);
    assert.equal(typeof stopped.drainMs, "number");
    assert.equal(typeof stopped.teardownMs, "number");
  });

  test("nothing is published, nor a message made, while a channel has no subscriber", async () => {
    // Every publish and every traced call of any channel is seen, subscribed or not.
    type Publish = (this: { name: string }, message: unknown) => void;
    type Trace = (this: { start: { name: string } }, ...args: unknown[]) => Promise<unknown>;
    const channelPrototype: { publish: Publish } = Object.getPrototypeOf(
      diagnosticsChannel.channel("lifespan-hono:test-probe"),
    );
    const tracingPrototype: { tracePromise: Trace } = Object.getPrototypeOf(
      diagnosticsChannel.tracingChannel("lifespan-hono:test-probe"),
    );
    const { publish } = channelPrototype;
    const { tracePromise } = tracingPrototype;
    const calls: string[] = [];
    channelPrototype.publish = function (message) {
      calls.push(`publish ${this.name}`);
      return publish.call(this, message);
    };
    tracingPrototype.tracePromise = function (...args) {
      calls.push(`trace ${this.start.name}`);
      return tracePromise.apply(this, args);
    };
    try {
      // The spies see a channel of that name that nobody subscribes to.
      diagnosticsChannel.channel("lifespan-hono:test-probe").publish("probe");
      await diagnosticsChannel.tracingChannel("lifespan-hono:test-probe").tracePromise(
        async () => {},
        {},
      );
      const app = new App({ logger: recordingLogger() });
      app.beforeServing(function connectDb() {});
      app.whileServing(function* pool() {
        yield;
      });
      app.afterServing(function closeDb() {});
      app.get("/", (c) => c.text("ok"));
      const running = await serve(app, { port: 0, handleSignals: false });
      assert.equal(await (await fetch(running.url)).text(), "ok");
      await running.shutdown();
    } finally {
      channelPrototype.publish = publish;
      tracingPrototype.tracePromise = tracePromise;
    }
    for (const probe of ["publish lifespan-hono:test-probe", "trace tracing:lifespan-hono:test"]) {
      assert.ok(calls.some((call) => call.startsWith(probe)), `the spies missed ${probe}`);
    }
    const library = calls.filter((call) => /lifespan-hono:(?!test-probe)/.test(call));
    assert.deepEqual(library, []);
  });
});

/** A `listening` message, with the URL it listened on. */
function running(message: ServerMessage): void {
  assert.ok(message.type === "listening");
  assert.match(message.url, /^http:\/\/127\.0\.0\.1:\d+$/);
}

describe("run() in a child process", () => {
  const fixture = new URL("./fixtures/observability.ts", import.meta.url).pathname;

  test("SIGTERM during a slow request: the stop is told, the cut request named, events published", {
    timeout: 20_000,
  }, async () => {
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ options: { gracefulTimeout: 200 } }),
    });
    const url = await child.url();
    const slow = fetch(`${url}/slow?token=secret`).catch(() => "cut");
    await child.waitFor(/^slow began$/);
    child.kill("SIGTERM");
    const exit = await child.exited;
    await slow;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stderr, "");
    const records = exit.stdout.filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line) as LogRecord
    );
    const events = exit.stdout.filter((line) => line.startsWith("event ")).map((line) =>
      JSON.parse(line.slice("event ".length)) as {
        channel: string;
        type: string;
        message: Record<string, unknown>;
      }
    );
    // run()'s own line went through the logger too.
    const running = find(records, /^Running on http:\/\/127\.0\.0\.1:\d+ \(CTRL \+ C to quit\)$/);
    assert.deepEqual(running.fields, { url });
    // The cache generator's first half does nothing: it is left out unless it took 1 ms.
    find(records, /^Started in \d+ ms \(connectDb \d+ ms(, cache \d+ ms)?\)$/);
    const stopping = find(records, /^Shutting down \(SIGTERM\): 1 request, /);
    assert.equal(stopping.fields!.reason, "SIGTERM");
    assert.equal(stopping.fields!.requests, 1);
    const cut = find(records, /^Cut GET \/slow after \d+ ms: the 200 ms grace period is over$/);
    assert.equal(cut.level, "warn");
    assert.equal(cut.fields!.path, "/slow");
    assert.ok((cut.fields!.durationMs as number) >= 200, String(cut.fields!.durationMs));
    find(records, /^Stopped in \d+ ms \(drain \d+ ms, teardown \d+ ms\)$/);

    const seen = events.map((event) =>
      event.channel === "server"
        ? `server ${event.message.type}`
        : `${event.channel} ${event.type} ${event.message.hook ?? event.message.phase}`
    );
    assert.deepEqual(seen, [
      "startup start startup",
      "hook start connectDb",
      "hook asyncEnd connectDb",
      "hook start cache",
      "hook asyncEnd cache",
      "startup asyncEnd startup",
      "server listening",
      "server stopping",
      "server cut",
      "shutdown start shutdown",
      "hook start cache",
      "hook asyncEnd cache",
      "shutdown asyncEnd shutdown",
      "server stopped",
    ]);
    const cutEvent = events.find((event) => event.message.type === "cut")!.message;
    assert.equal(cutEvent.app, true);
    assert.deepEqual(
      (cutEvent.requests as { method: string; path: string }[]).map((request) =>
        `${request.method} ${request.path}`
      ),
      ["GET /slow"],
    );
    assert.equal(cutEvent.gracefulTimeoutMs, 200);
  });
});
