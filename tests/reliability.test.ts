/**
 * The reliability suite: attacks a served app the way production does (load while a signal
 * arrives, hooks and tasks that fail, bad clients, signals at awkward moments) and checks from
 * outside the child process what every client got and what the server did.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { Child, type Exit } from "./child.ts";
import { App, run, serve } from "../mod.ts";
import { runtimeName } from "./helpers.ts";
import { freePort, probe } from "./http.ts";
import {
  type Connection,
  connectTo,
  knownBody,
  type Outcome,
} from "./fixtures/reliability-http.ts";

const serverFixture = new URL("./fixtures/reliability-server.ts", import.meta.url).pathname;

/** What the server fixture prints on exit (see tests/fixtures/reliability-server.ts). */
interface Counts {
  beforeServing: number;
  whileServingStart: number;
  whileServingEnd: number;
  afterServing: number;
  started: number[];
  startedWhileDraining: number;
  startedAfterTeardown: number;
  uploadsStarted: number;
  uploadsEnded: number;
  bigStarted: number;
  bigCancelled: number;
  bigCompleted: number;
  portFreeAtTeardown?: boolean;
}

function startServer(config: Record<string, unknown> = {}): Child {
  return new Child(serverFixture, { FIXTURE: JSON.stringify(config) });
}

/** The counts line of an exited server fixture. */
function countsOf(exit: Exit): Counts {
  const line = exit.stdout.find((line) => line.startsWith("counts "));
  assert.ok(line, `no counts printed:\n${exit.stdout.join("\n")}\n${exit.stderr}`);
  return JSON.parse(line.slice("counts ".length));
}

/** The hooks ran once each: one startup, one shutdown. */
function assertHooksOnce(counts: Counts): void {
  assert.deepEqual(
    [counts.beforeServing, counts.whileServingStart, counts.whileServingEnd, counts.afterServing],
    [1, 1, 1, 1],
    "beforeServing, whileServing start, whileServing end, afterServing",
  );
}

/**
 * The child's exit; if it has not ended by itself within `ms` (a leaked handle, a hung
 * shutdown), it is killed and the test fails. A safety net, not a measure: the tests never
 * depend on how fast anything is.
 */
async function exitOf(child: Child, ms = 30_000): Promise<Exit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, ms, "late"));
  try {
    const exit = await Promise.race([child.exited, late]);
    if (exit !== "late") return exit;
    process.kill(child.pid, "SIGKILL");
    const killed = await child.exited;
    assert.fail(
      `the child did not exit within ${ms} ms and was killed:\n${killed.stdout.join("\n")}\n` +
        killed.stderr,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` with a child, which is killed in the end if it is still running. */
async function withChild<T>(child: Child, body: (child: Child) => Promise<T>): Promise<T> {
  let exited = false;
  child.exited.then(() => exited = true);
  try {
    return await body(child);
  } finally {
    if (!exited) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // It exited meanwhile.
      }
      await child.exited;
    }
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A GET of `path` on a fresh connection. */
async function getOnce(port: number, path = "/"): Promise<Outcome> {
  const { connection, error } = await connectTo(port);
  if (connection === undefined) return { kind: "no-response", error };
  try {
    return await connection.request("GET", path);
  } finally {
    connection.destroy();
  }
}

/** A request that returned 200 with the body `expected`. */
function assertOk(outcome: Outcome, expected = "ok"): void {
  assert.equal(outcome.kind, "complete", JSON.stringify(outcome));
  if (outcome.kind !== "complete") return;
  assert.equal(outcome.status, 200);
  assert.equal(outcome.body, expected);
}

// ---------------------------------------------------------------------------------------------
// Load at shutdown

/** Concurrent keep-alive connections the load keeps busy. */
const LOAD_CONNECTIONS = 50;
/** SIGTERM goes out once this many responses have arrived: mid-load, whatever the speed. */
const SIGTERM_AFTER_RESPONSES = 400;
/** A bound on each connection's loop, should the server never stop accepting. */
const MAX_REQUESTS_PER_CONNECTION = 400;

/** One request of the load: what was asked and how it ended. */
interface LoadRequest {
  readonly id: number;
  /** Longer than the grace period: must be cut, never answered with 200. */
  readonly long: boolean;
  readonly expected: string | undefined;
  readonly outcome: Outcome;
  /** Sent on a connection opened after some connection had been refused. */
  readonly afterRefusal: boolean;
  /** Its outcome came after SIGTERM was sent. */
  readonly afterSignal: boolean;
}

/** The request with id `id`, on connection `index`: its path and the body it must return. */
function planRequest(index: number, sequence: number, id: number): {
  path: string;
  long: boolean;
  expected?: string;
} {
  // Three connections start with a request that outlives the grace period.
  if (sequence === 0 && index < 2) return { path: `/hang?id=${id}`, long: true };
  if (sequence === 0 && index === 2) return { path: `/endless?id=${id}`, long: true };
  const size = 1024 * (1 + (id % 48));
  const expected = knownBody(id, size);
  switch (id % 10) {
    case 0:
    case 1: {
      const ms = 200 + ((id * 7919) % 601);
      return { path: `/slow?id=${id}&size=${size}&ms=${ms}`, long: false, expected };
    }
    case 2: {
      const chunks = 4 + (id % 5);
      const ms = 20 + (id % 60);
      return {
        path: `/stream?id=${id}&size=${size}&chunks=${chunks}&ms=${ms}`,
        long: false,
        expected,
      };
    }
    default:
      return { path: `/data?id=${id}&size=${size}`, long: false, expected };
  }
}

/** Totals of a load run. `lost` must be empty; the others are reported. */
interface Tally {
  sent: number;
  answered: number;
  refused: number;
  cut: number;
  lost: string[];
  /** Of those answered, how many came after SIGTERM: requests the drain let finish. */
  answeredAfterSignal: number;
}

/**
 * Sorts each request: answered (200, the known body), refused (no byte of a response, and its
 * handler never ran), cut (a long request ended by the grace period), or lost (anything else:
 * a response that broke off, a wrong body, a request whose handler ran but got no answer).
 */
function tally(
  requests: readonly LoadRequest[],
  refusedConnects: number,
  started: ReadonlySet<number>,
): Tally {
  const result: Tally = {
    sent: refusedConnects,
    answered: 0,
    answeredAfterSignal: 0,
    refused: refusedConnects,
    cut: 0,
    lost: [],
  };
  for (const request of requests) {
    result.sent++;
    const { id, outcome } = request;
    const lose = (why: string) => result.lost.push(`#${id} ${why}: ${describeOutcome(outcome)}`);
    if (request.afterRefusal && outcome.kind !== "no-response") {
      lose("accepted on a connection opened after the listener had refused one");
    } else if (request.long) {
      if (outcome.kind === "complete" && outcome.status === 200) lose("outlived the grace period");
      else result.cut++;
    } else if (outcome.kind === "complete") {
      if (outcome.status === 200 && outcome.body === request.expected) {
        result.answered++;
        if (request.afterSignal) result.answeredAfterSignal++;
      } else {
        lose("wrong response");
      }
    } else if (outcome.kind === "incomplete") {
      lose("response broke off");
    } else if (started.has(id)) {
      lose("its handler ran but no response came");
    } else {
      result.refused++;
    }
  }
  return result;
}

function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case "complete":
      return `${outcome.status}, ${outcome.body.length} bytes`;
    case "incomplete":
      return `status ${outcome.status}, ${outcome.received} bytes, then ${outcome.error}`;
    case "no-response":
      return outcome.error;
  }
}

describe(`reliability: load at shutdown on ${runtimeName}`, () => {
  test(
    "SIGTERM under load: every accepted request is answered in full or cut past the grace period",
    {
      timeout: 90_000,
    },
    async () => {
      await withChild(startServer(), async (child) => {
        const port = portOf(await child.url());
        const requests: LoadRequest[] = [];
        let refusedConnects = 0;
        let responses = 0;
        let nextId = 1;
        let signalled = false;
        const signal = () => {
          if (signalled) return;
          signalled = true;
          child.kill("SIGTERM");
        };

        const runConnection = async (index: number) => {
          let connection: Connection | undefined;
          let afterRefusal = false;
          for (let sequence = 0; sequence < MAX_REQUESTS_PER_CONNECTION; sequence++) {
            if (connection === undefined || connection.ended) {
              connection?.destroy();
              const refusedBefore = refusedConnects > 0;
              const opened = await connectTo(port);
              if (opened.connection === undefined) {
                refusedConnects++;
                return; // the listener is closed: this connection's load is over
              }
              connection = opened.connection;
              afterRefusal = refusedBefore;
            }
            const id = nextId++;
            const plan = planRequest(index, sequence, id);
            const outcome = await connection.request("GET", plan.path);
            requests.push({
              id,
              long: plan.long,
              expected: plan.expected,
              outcome,
              afterRefusal,
              afterSignal: signalled,
            });
            if (outcome.kind === "complete" && ++responses === SIGTERM_AFTER_RESPONSES) signal();
            if (outcome.kind !== "complete") connection = undefined;
          }
          connection?.destroy();
        };

        const load = Promise.all(
          Array.from({ length: LOAD_CONNECTIONS }, (_, i) => runConnection(i)),
        );
        // Should the load end before the count (every request failing), stop the child anyway.
        const [, exit] = await Promise.all([load.finally(signal), exitOf(child, 60_000)]);
        assert.equal(exit.code, 0, exit.stderr);
        const counts = countsOf(exit);
        assertHooksOnce(counts);
        assert.equal(counts.startedAfterTeardown, 0, "handlers that ran after teardown began");

        const result = tally(requests, refusedConnects, new Set(counts.started));
        console.log(
          `load on ${runtimeName}: sent=${result.sent} answered=${result.answered} ` +
            `refused=${result.refused} cut=${result.cut} lost=${result.lost.length} ` +
            `(answered after SIGTERM: ${result.answeredAfterSignal}, ` +
            `handlers started during the drain: ${counts.startedWhileDraining})`,
        );
        assert.deepEqual(result.lost, [], "lost requests");
        assert.equal(result.cut, 3, "the three requests longer than the grace period are cut");
        assert.ok(result.answered >= SIGTERM_AFTER_RESPONSES - 3);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Faults in hooks and background tasks

const faultsFixture = new URL("./fixtures/reliability-faults.ts", import.meta.url).pathname;

interface FaultCase {
  readonly fault: string;
  /** Whether the app got to serve (the fault is at shutdown) or not (at startup). */
  readonly serves: boolean;
  readonly code: number;
  /** What stderr must say: the phase, the hook and what went wrong. */
  readonly messages: readonly RegExp[];
}

const FAULTS: readonly FaultCase[] = [
  {
    fault: "startup-throws",
    serves: false,
    code: 1,
    messages: [/Startup failed: beforeServing hook connectQueue threw: queue is unreachable/],
  },
  {
    fault: "startup-hangs",
    serves: false,
    code: 1,
    messages: [/Startup timed out after 1000 ms: whileServing hook warmCache was still pending/],
  },
  {
    fault: "generator-throws",
    serves: true,
    code: 1,
    messages: [/Shutdown failed: whileServing hook jobQueue threw: queue flush failed/],
  },
  {
    fault: "after-throws",
    serves: true,
    code: 1,
    messages: [/Shutdown failed: afterServing hook flushMetrics threw: metrics endpoint is down/],
  },
  {
    fault: "after-hangs",
    serves: true,
    code: 1,
    messages: [/Shutdown failed: afterServing hook drainOutbox did not finish within 1000 ms/],
  },
  {
    // Logged, never a crash nor a failed shutdown (DESIGN: background tasks).
    fault: "task-throws",
    serves: true,
    code: 0,
    messages: [/Background task syncInventory failed:[\s\S]*inventory service said 500/],
  },
  {
    // Abandoned with a warning once backgroundTaskTimeout has passed.
    fault: "task-ignores-signal",
    serves: true,
    code: 0,
    messages: [
      /background task\(s\) did not finish within 500 ms of shutdown and were abandoned: pollFeed/,
    ],
  },
  {
    fault: "all-at-shutdown",
    serves: true,
    code: 1,
    messages: [
      /Background task syncInventory failed/,
      /background task\(s\) did not finish within 500 ms of shutdown and were abandoned: pollFeed/,
      new RegExp(
        "Shutdown failed: whileServing hook jobQueue threw: queue flush failed; " +
          "afterServing hook drainOutbox did not finish within 1000 ms; " +
          "afterServing hook flushMetrics threw: metrics endpoint is down",
      ),
    ],
  },
];

describe(`reliability: faults on ${runtimeName}`, () => {
  for (const { fault, serves, code, messages } of FAULTS) {
    test(`${fault}: every other resource is closed, exit code ${code}, the hook is named`, {
      timeout: 60_000,
    }, async () => {
      const directory = mkdtempSync(join(tmpdir(), "lifespan-reliability-"));
      try {
        const child = new Child(faultsFixture, {
          FAULT: fault,
          RESOURCE_DIR: directory,
          PORT: "0",
          SMTP_PORT: "0",
        });
        const exit = await withChild(child, async () => {
          if (serves) {
            const port = portOf(await child.url());
            assertOk(await getOnce(port));
            child.kill("SIGTERM");
          }
          return await exitOf(child);
        });
        const output = `${exit.stdout.join("\n")}\n${exit.stderr}`;
        assert.equal(exit.code, code, output);
        for (const message of messages) assert.match(exit.stderr, message);
        // Started and closed, each once.
        for (const resource of ["cache", "ledger"]) {
          const opened = exit.stdout.filter((line) => line === `opened ${resource}`).length;
          assert.equal(opened, 1, `${resource} opened once\n${output}`);
        }
        const smtpStarted = exit.stdout.filter((line) => line.startsWith("SMTP server listening"));
        assert.equal(smtpStarted.length, 1, output);
        assert.equal(exit.stdout.filter((line) => line === "SMTP server closed").length, 1, output);
        assert.equal(exit.stdout.filter((line) => line === "closed cache").length, 1, output);
        // What the resources left behind, looked at once the process is gone. After a failed
        // startup afterServing hooks do not run (DESIGN), so the beforeServing hook's ledger
        // stays: only generators are rolled back.
        assert.deepEqual(readdirSync(directory), serves ? [] : ["ledger"], output);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Bad input

describe(`reliability: bad input on ${runtimeName}`, () => {
  test(
    "malformed requests, huge headers, aborted bodies and vanishing clients: others still get 200",
    {
      timeout: 60_000,
    },
    async () => {
      // No request of its own is running at SIGTERM: the grace period only makes the held
      // connections below wait.
      await withChild(startServer({ options: { gracefulTimeout: 500 } }), async (child) => {
        const port = portOf(await child.url());
        const seen: Record<string, string> = {};
        const attempt = async (name: string, raw: string) => {
          const { connection, error } = await connectTo(port);
          assert.ok(connection, error);
          connection.write(raw);
          const outcome = await connection.readResponse();
          connection.destroy();
          seen[name] = outcome.kind === "complete" ? String(outcome.status) : outcome.kind;
          // Answered with an error or closed; never served as if it were a good request.
          assert.ok(
            outcome.kind !== "complete" || outcome.status >= 400,
            `${name}: ${describeOutcome(outcome)}`,
          );
          assertOk(await getOnce(port));
        };
        await attempt("garbage", "GARBAGE\r\n\r\n");
        await attempt("bad header line", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
        await attempt("bad version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n");
        await attempt(
          "bad content-length",
          "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        );
        await attempt("NUL in a header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n");
        await attempt(
          "bad chunk size",
          "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        );
        await attempt(
          "1 MiB of headers",
          `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(1 << 20)}\r\n\r\n`,
        );

        // 64 KiB of headers: some servers take it, some refuse it; either way the next is served.
        {
          const { connection } = await connectTo(port);
          assert.ok(connection);
          const outcome = await connection.request("GET", "/", {
            headers: { "x-big": "a".repeat(64 * 1024) },
          });
          connection.destroy();
          seen["64 KiB header"] = outcome.kind === "complete"
            ? String(outcome.status)
            : outcome.kind;
          if (outcome.kind === "complete" && outcome.status === 200) {
            assert.equal(outcome.body, "ok");
          }
          assertOk(await getOnce(port));
        }

        // A body that stops half-way: the handler reading it must end, not wait forever.
        {
          const { connection } = await connectTo(port);
          assert.ok(connection);
          connection.write(
            `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${1 << 20}\r\n\r\n`,
          );
          connection.write("b".repeat(64 * 1024));
          await child.waitFor(/^upload started$/);
          connection.destroy();
          assertOk(await getOnce(port));
        }

        // A client that reads the start of a 4 MiB response and goes: the stream is cancelled.
        {
          const { connection } = await connectTo(port);
          assert.ok(connection);
          connection.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
          await connection.readFirstBytes();
          connection.destroy();
          assertOk(await getOnce(port));
        }
        console.log(`bad input on ${runtimeName}: ${JSON.stringify(seen)}`);

        // Still holding: half a request head, and a 4 MiB response nobody reads. Neither may
        // keep the server from shutting down, and the half head may not keep the process alive:
        // the child must exit by itself (serve() never calls exit). The reader that stopped may:
        // on Deno, a connection whose writes are blocked cannot be closed once shutdown() has
        // begun (see src/adapters/deno.ts), so it goes only once shutdown has finished.
        const { connection: halfHead } = await connectTo(port);
        assert.ok(halfHead);
        halfHead.write("GET / HTTP/1.1\r\nHost: x\r\n");
        const { connection: notReading } = await connectTo(port);
        assert.ok(notReading);
        notReading.pause();
        notReading.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        await child.waitForCount(/^big started$/, 2);
        try {
          child.kill("SIGTERM");
          await child.waitFor(/^finished$/);
          notReading.destroy();
          const exit = await exitOf(child);
          assert.equal(exit.code, 0, exit.stderr);
          const counts = countsOf(exit);
          assertHooksOnce(counts);
          assert.equal(
            counts.uploadsEnded,
            counts.uploadsStarted,
            "upload handlers that never ended",
          );
          assert.ok(counts.bigCancelled >= 1, "the abandoned 4 MiB response was not cancelled");
        } finally {
          halfHead.destroy();
          notReading.destroy();
        }
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Signals

describe(`reliability: signals on ${runtimeName}`, () => {
  test("SIGINT then SIGTERM at once, a request in flight: one graceful shutdown, exit 0", {
    timeout: 30_000,
  }, async () => {
    await withChild(startServer(), async (child) => {
      const { connection, error } = await connectTo(portOf(await child.url()));
      assert.ok(connection, error);
      const response = connection.request("GET", "/slow?id=7&size=4096&ms=400&announce");
      await child.waitFor(/^slow 7 started$/);
      // Back to back, well inside the 200 ms in which a second signal is an echo of the first.
      child.kill("SIGINT");
      child.kill("SIGTERM");
      assertOk(await response, knownBody(7, 4096));
      const exit = await exitOf(child);
      assert.equal(exit.code, 0, exit.stderr);
      assert.doesNotMatch(exit.stderr, /exiting now/);
      assertHooksOnce(countsOf(exit));
    });
  });

  for (const outcome of ["finish", "fail"] as const) {
    const what = outcome === "finish" ? "finishes, then shuts down" : "fails and rolls back";
    test(`SIGTERM during startup: startup ${what} once, nothing is bound, exit 1`, {
      timeout: 30_000,
    }, async () => {
      const port = await freePort();
      await withChild(startServer({ run: true, port, holdStartup: outcome }), async (child) => {
        await child.waitFor(/^startup waiting$/);
        // Looked at from outside while the startup hook is held: nothing listens.
        assert.equal(await probe(port), "refused", "the port was bound during startup");
        child.kill("SIGTERM");
        const exit = await exitOf(child);
        assert.equal(exit.code, 1, exit.stderr);
        assert.ok(
          !exit.stdout.some((line) => line.startsWith("Running on")),
          exit.stdout.join("\n"),
        );
        const counts = countsOf(exit);
        // Nor when the teardown looked, with the process still running.
        assert.equal(counts.portFreeAtTeardown, true);
        assert.deepEqual(counts.started, []);
        if (outcome === "finish") {
          assertHooksOnce(counts);
          assert.match(exit.stderr, /Startup interrupted by SIGTERM: shut down without serving/);
        } else {
          // The generator already started is closed; afterServing hooks do not run (DESIGN).
          assert.deepEqual(
            [
              counts.beforeServing,
              counts.whileServingStart,
              counts.whileServingEnd,
              counts.afterServing,
            ],
            [1, 1, 1, 0],
          );
          assert.match(exit.stderr, /whileServing hook warmCache threw: cache warm-up failed/);
        }
      });
    });
  }

  test("SIGHUP is not taken over: the runtime's default ends the process, without shutdown", {
    timeout: 30_000,
  }, async () => {
    await withChild(startServer(), async (child) => {
      await child.url();
      process.kill(child.pid, "SIGHUP");
      const exit = await exitOf(child);
      assert.equal(exit.signal, "SIGHUP", `code ${exit.code}\n${exit.stderr}`);
      assert.ok(!exit.stdout.includes("finished"), exit.stdout.join("\n"));
    });
  });

  test("SIGHUP with the app's own listener calling shutdown(): one graceful shutdown, exit 0", {
    timeout: 30_000,
  }, async () => {
    await withChild(startServer({ hupHandler: true }), async (child) => {
      await child.url();
      process.kill(child.pid, "SIGHUP");
      const exit = await exitOf(child);
      assert.equal(exit.code, 0, exit.stderr);
      assert.ok(exit.stdout.includes("SIGHUP received"));
      assertHooksOnce(countsOf(exit));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Bad options

describe(`reliability: bad options on ${runtimeName}`, () => {
  test("run() rejects bad options with a TypeError naming them, before serving or exiting", async () => {
    let started = false;
    const app = new App().beforeServing(() => {
      started = true;
    });
    const cases: [unknown, RegExp][] = [
      [null, /^run\(\) options must be an object, got null$/],
      [42, /^run\(\) options must be an object, got 42$/],
      ["8000", /^run\(\) options must be an object, got "8000"$/],
      [{ prot: 80 }, /^Unknown run\(\) option "prot"$/],
      [{ onListen: "log" }, /^onListen expects a function, got "log"$/],
      [{ port: -1 }, /^port must be an integer from 0 to 65535, got -1$/],
      [{ gracefulTimeout: "3s" }, /^gracefulTimeout must be a non-negative number/],
      [{ handleSignals: 1 }, /^handleSignals must be a boolean, got 1$/],
      [{ workers: 0 }, /^workers must be a positive integer or "auto", got 0$/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(run(app, options as never), { name: "TypeError", message });
      await assert.rejects(app.run(options as never), { name: "TypeError", message });
    }
    await assert.rejects(run({} as never), {
      name: "TypeError",
      message: "serve() expects an app with a fetch method, got an object",
    });
    assert.equal(started, false);
  });

  test("serve(), testApp(), testClient() and new App() reject options that are not an object", async () => {
    const app = new App();
    await assert.rejects(serve(app, null as never), {
      name: "TypeError",
      message: "serve() options must be an object, got null",
    });
    await assert.rejects(serve(app, 8000 as never), {
      name: "TypeError",
      message: "serve() options must be an object, got 8000",
    });
    await assert.rejects(app.testApp(null as never), {
      name: "TypeError",
      message: "testApp() options must be an object, got null",
    });
    await assert.rejects(app.testApp({ shutdownTimeout: -1 }), {
      name: "TypeError",
      message: "shutdownTimeout must be a non-negative number of milliseconds, got -1",
    });
    assert.throws(() => app.testClient(null as never), {
      name: "TypeError",
      message: "testClient() options must be an object, got null",
    });
    assert.throws(() => new App({ backgroundTaskTimeout: -1 }), {
      name: "TypeError",
      message: "backgroundTaskTimeout must be a non-negative number of milliseconds, got -1",
    });
  });
});
