import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { App, serve } from "../mod.ts";
import { Child } from "./child.ts";
import { get } from "./http.ts";
import { runtimeName, within } from "./helpers.ts";

const fixture = new URL("./fixtures/workers.ts", import.meta.url).pathname;

function start(config: Record<string, unknown>): Child {
  return new Child(fixture, { FIXTURE: JSON.stringify(config) });
}

/** Sends requests until every pid in `expected` has answered one; all must be 200. */
async function seenPids(url: string, expected: Set<string>): Promise<Set<string>> {
  const seen = new Set<string>();
  // The kernel picks a worker per connection (by a hash of the client port with reusePort):
  // 200 fresh connections all landing on one of two workers would be a broken spread.
  for (let attempt = 0; attempt < 200; attempt++) {
    const { status, body } = await get(url);
    assert.equal(status, 200);
    seen.add(body);
    if ([...expected].every((pid) => seen.has(pid))) break;
  }
  return seen;
}

/** The pids printed on lines `<word> <pid>`, one entry per line. */
function pidsOf(lines: string[], word: string): string[] {
  return lines.filter((line) => line.startsWith(`${word} `)).map((line) => line.split(" ")[1]!);
}

/** The `listening <pid> <port> <worker>` lines: each worker's pid, port and place. */
function listeners(lines: string[]): { pid: string; port: number; worker: number }[] {
  return lines.filter((line) => line.startsWith("listening ")).map((line) => {
    const [, pid, port, worker] = line.split(" ");
    return { pid: pid!, port: Number(port), worker: Number(worker) };
  });
}

/** Sends `signal` to each pid, as a terminal sends CTRL + C to a whole process group. */
function signalEach(pids: (string | number)[], signal: "SIGINT" | "SIGTERM"): void {
  for (const pid of pids) {
    try {
      process.kill(Number(pid), signal);
    } catch (error) {
      // One that has already exited is not in the group any more.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

/** Whether the process has exited: no such process, or a zombie its new parent hasn't reaped. */
function exited(pid: string | number): boolean {
  try {
    process.kill(Number(pid), 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
    throw error;
  }
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/**
 * Waits `ms`: not a synchronisation, the time between a user's two signals is what is tested.
 */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each pid's number of lines, sorted: `{ "12": 1, "13": 1 }`. */
function counts(pids: string[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const pid of pids.toSorted()) result[pid] = (result[pid] ?? 0) + 1;
  return result;
}

describe(`workers on ${runtimeName}`, () => {
  test("two workers serve one port, each runs startup and shutdown once; SIGTERM exits 0", {
    timeout: 60_000,
  }, async () => {
    const child = start({ options: { workers: 2 } });
    const url = await child.url();
    const listening = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    assert.equal(new Set(listening).size, 2);
    assert.ok(!listening.includes(String(child.pid)), "the primary serves nothing itself");
    assert.deepEqual(await seenPids(url, new Set(listening)), new Set(listening));

    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const once = Object.fromEntries(listening.map((pid) => [pid, 1]));
    assert.deepEqual(counts(pidsOf(exit.stdout, "startup")), once);
    assert.deepEqual(counts(pidsOf(exit.stdout, "shutdown")), once);
    // The primary's serve() resolved once, after both listened; its finished after both stopped.
    assert.equal(exit.stdout.filter((line) => line.startsWith("url ")).length, 1);
    assert.equal(exit.stdout.at(-1), "finished");
  });

  test('workers: "auto" starts one worker per CPU', { timeout: 60_000 }, async () => {
    await using child = start({ options: { workers: "auto" } });
    await child.url(); // the primary's serve() resolves once every worker listens
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(20_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    const started = new Set(pidsOf(exit.stdout, "startup"));
    assert.equal(started.size, availableParallelism(), exit.stdout.join("\n"));
    assert.deepEqual(new Set(listeners(exit.stdout).map((listener) => listener.pid)), started);
  });

  test("a worker failing at startup stops the others; run() exits 1 naming the hook", {
    timeout: 60_000,
  }, async () => {
    const child = start({ run: true, failWorker: 2, options: { workers: 2 } });
    const exit = await child.exited;
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /beforeServing hook connectDatabase threw: database is down/);
    assert.match(exit.stderr, /Worker 2 of 2 \(pid \d+\) failed at startup: .*connectDatabase/);
    assert.ok(!exit.stdout.some((line) => line.startsWith("Running on")), exit.stdout.join("\n"));
    // The worker that started ran its shutdown too (it stopped before or after binding).
    const started = pidsOf(exit.stdout, "startup");
    const failed = started.filter((pid) => !pidsOf(exit.stdout, "shutdown").includes(pid));
    assert.equal(failed.length, 1, exit.stdout.join("\n"));
    assert.deepEqual(
      counts(pidsOf(exit.stdout, "shutdown")),
      counts(started.filter((pid) => pid !== failed[0])),
    );
  });

  test("a worker killed while serving is restarted and serving goes on", {
    timeout: 60_000,
  }, async () => {
    const child = start({ options: { workers: 2 } });
    const url = await child.url();
    const [killed, survivor] = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    process.kill(Number(killed), "SIGKILL");
    const listening = pidsOf(await child.waitForCount(/^listening /, 3), "listening");
    const restarted = listening[2]!;
    assert.ok(restarted !== undefined && restarted !== killed && restarted !== survivor);
    const serving = new Set([survivor!, restarted]);
    assert.deepEqual(await seenPids(url, serving), serving);

    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(
      exit.stderr,
      new RegExp(
        `Worker \\d of 2 \\(pid ${killed}\\) was killed by SIGKILL while serving: ` +
          "restarting it in 100 ms",
      ),
    );
    assert.deepEqual(counts(pidsOf(exit.stdout, "startup")), counts([killed!, ...serving]));
    assert.deepEqual(counts(pidsOf(exit.stdout, "shutdown")), counts([...serving]));
  });

  test("run() prints where it runs once, after every worker listens", {
    timeout: 60_000,
  }, async () => {
    const child = start({ run: true, options: { workers: 2 } });
    const url = await child.url();
    // Both workers ran their startup before the primary printed the line.
    assert.equal(pidsOf(child.lines, "startup").length, 2, child.lines.join("\n"));
    assert.equal((await get(url)).status, 200);
    child.kill("SIGINT");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.filter((line) => line.startsWith("Running on")).length, 1);
    assert.equal(pidsOf(exit.stdout, "shutdown").length, 2);
  });

  test("with port 0 a worker whose startup ends after the first one listens gets the port too", {
    timeout: 60_000,
  }, async () => {
    // The primary sends worker 2 the port while its startup still runs.
    await using child = start({ options: { workers: 2 }, slowWorker: 2, slowStartupMs: 1500 });
    const url = new URL(await within(child.url(), 20_000, () => `not serving:\n${child.stderr}`));
    const bound = listeners(await child.waitForCount(/^listening /, 2));
    assert.deepEqual(bound.map(({ port }) => port), [Number(url.port), Number(url.port)]);
    child.kill("SIGTERM");
    assert.equal((await child.exitedWithin(20_000, "SIGTERM")).code, 0);
  });

  test("with port 0 every worker listens on the port the primary reports", {
    timeout: 60_000,
  }, async () => {
    await using child = start({ options: { workers: 2 } });
    const url = new URL(await child.url());
    const bound = listeners(await child.waitForCount(/^listening /, 2));
    assert.deepEqual(bound.map(({ worker }) => worker).toSorted(), [1, 2]);
    assert.ok(Number(url.port) > 0);
    assert.deepEqual(bound.map(({ port }) => port), [Number(url.port), Number(url.port)]);
    child.kill("SIGTERM");
    assert.equal((await child.exited).code, 0);
  });

  test("CTRL + C: a late copy of the signal to the primary alone keeps the stop graceful", {
    timeout: 60_000,
  }, async () => {
    await using child = start({ options: { workers: 2 } });
    const url = await child.url();
    const workers = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    const slow = get(`${url}/work?ms=1500&announce`);
    await child.waitFor(/^working /);
    // The terminal's CTRL + C reaches the whole process group at once...
    signalEach([...workers, child.pid], "SIGINT");
    // ...and a wrapper (npm, tsx) forwards it to the primary again, past the echo window.
    await pause(300);
    child.kill("SIGINT");
    assert.deepEqual(await slow, {
      status: 200,
      body: (await child.waitFor(/^working /)).slice(8),
    });
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const once = Object.fromEntries(workers.map((pid) => [pid, 1]));
    assert.deepEqual(counts(pidsOf(exit.stdout, "shutdown")), once);
  });

  test("CTRL + C: a worker that exited before the primary saw it leaves the stop graceful", {
    timeout: 60_000,
  }, async () => {
    await using child = start({ options: { workers: 2 } });
    const url = await child.url();
    const workers = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    const slow = get(`${url}/work?ms=1500&announce`).catch((error: Error) => error);
    const busy = (await child.waitFor(/^working /)).slice(8);
    const idle = workers.find((pid) => pid !== busy)!;
    // The primary is held still while the idle worker stops and exits, so that when it goes on
    // its own SIGINT and that worker's exit are both waiting for it: the order in which a busy
    // machine can have them after one CTRL + C. The worker's IPC channel is closed by then.
    process.kill(child.pid, "SIGSTOP");
    try {
      signalEach(workers, "SIGINT");
      for (let attempt = 0; !exited(idle) && attempt < 250; attempt++) await pause(20);
      assert.ok(exited(idle), `the idle worker ${idle} is still running`);
      child.kill("SIGINT");
    } finally {
      process.kill(child.pid, "SIGCONT");
    }
    const answer = await slow;
    const exit = await child.exited;
    assert.deepEqual(answer, { status: 200, body: busy }, exit.stderr);
    assert.equal(exit.code, 0, exit.stderr);
    const once = Object.fromEntries(workers.map((pid) => [pid, 1]));
    assert.deepEqual(counts(pidsOf(exit.stdout, "shutdown")), once);
  });

  test("a signal repeated to the primary alone: the first repeat is a copy, the next exits 130", {
    timeout: 60_000,
  }, async () => {
    await using child = start({ options: { workers: 2, gracefulTimeout: 20_000 } });
    const url = await child.url();
    const workers = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    const long = get(`${url}/work?ms=10000&announce`).catch(() => undefined);
    await child.waitFor(/^working /);
    child.kill("SIGINT");
    await pause(300);
    child.kill("SIGINT");
    await pause(300);
    const third = performance.now();
    child.kill("SIGINT");
    const exit = await child.exited;
    assert.equal(exit.code, 130, exit.stderr);
    assert.ok(performance.now() - third < 2000);
    assert.match(exit.stderr, /Received SIGINT again while the workers stop: taken as a copy/);
    await long;
    for (const pid of workers) {
      for (let attempt = 0; !exited(pid) && attempt < 100; attempt++) await pause(20);
      assert.ok(exited(pid), `worker ${pid} is still running`);
    }
  });

  test("CTRL + C twice: the primary exits 130 at once and the workers are gone", {
    timeout: 60_000,
  }, async () => {
    await using child = start({ options: { workers: 2, gracefulTimeout: 20_000 } });
    const url = await child.url();
    const workers = pidsOf(await child.waitForCount(/^listening /, 2), "listening");
    const long = get(`${url}/work?ms=10000&announce`).then(
      ({ status }) => `answered ${status}`,
      (error: NodeJS.ErrnoException) => `failed ${error.code}`,
    );
    await child.waitFor(/^working /);
    signalEach([...workers, child.pid], "SIGINT");
    await pause(300);
    const second = performance.now();
    signalEach([...workers, child.pid], "SIGINT");
    const exit = await child.exited;
    const took = performance.now() - second;
    assert.equal(exit.code, 130, `${exit.signal} ${exit.stderr}`);
    assert.ok(took < 2000, `exited ${took} ms after the second CTRL + C`);
    assert.match(await long, /^failed /);
    for (const pid of workers) {
      for (let attempt = 0; !exited(pid) && attempt < 100; attempt++) await pause(20);
      assert.ok(exited(pid), `worker ${pid} is still running`);
    }
    // Each worker ran its shutdown hooks at most once (the idle one may have finished first).
    const shutdowns = counts(pidsOf(exit.stdout, "shutdown"));
    assert.ok(Object.values(shutdowns).every((count) => count === 1), JSON.stringify(shutdowns));
  });

  test(
    "a worker that keeps crashing is given up after the burst; the primary exits with its code",
    {
      timeout: 60_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "lifespan-crash-"));
      try {
        await using child = start({
          crashWorker: 2,
          crashFile: join(dir, "started"),
          options: { workers: 2 },
        });
        await child.url();
        const bound = listeners(await child.waitForCount(/^listening /, 2));
        const crashing = bound.find(({ worker }) => worker === 2)!.pid;
        const survivor = bound.find(({ worker }) => worker === 1)!.pid;
        process.kill(Number(crashing), "SIGUSR2");
        const exit = await child.exited;
        assert.equal(exit.code, 7, exit.stderr);
        assert.match(
          exit.stderr,
          /Worker 2 of 2 \(pid \d+\) exited with code 7 at startup, its 6th exit within 10000 ms of run time: giving up after 5 restarts/,
        );
        // Five restarts, each crashing at startup; none of them listened.
        assert.equal(pidsOf(exit.stdout, "crash").length, 5, exit.stdout.join("\n"));
        assert.equal(listeners(exit.stdout).length, 2);
        // The other worker stopped gracefully: its shutdown hooks ran once.
        assert.deepEqual(counts(pidsOf(exit.stdout, "shutdown")), { [survivor]: 1 });
        assert.match(exit.stdout.at(-1)!, /^finished with error .*giving up/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test("a bad workers value is a TypeError naming the option and the value", async () => {
    for (const workers of [0, -1, 1.5, "2", "all", true]) {
      await assert.rejects(serve(new App(), { port: 0, workers } as never), {
        name: "TypeError",
        message: new RegExp(`^workers must be a positive integer or "auto", got `),
      });
    }
  });

  test("workers: 1 serves in this process", async () => {
    const app = new App().get("/", (c) => c.text(String(process.pid)));
    await using server = await serve(app, { port: 0, handleSignals: false, workers: 1 });
    assert.equal(await (await fetch(server.url)).text(), String(process.pid));
  });
});
