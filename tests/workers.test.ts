import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import process from "node:process";
import { describe, test } from "node:test";
import { App, serve } from "../mod.ts";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const fixture = new URL("./fixtures/workers.ts", import.meta.url).pathname;

function start(config: Record<string, unknown>): Child {
  return new Child(fixture, { FIXTURE: JSON.stringify(config) });
}

/** A GET over a fresh connection: with reusePort, the kernel spreads connections, not requests. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body }));
      response.on("error", reject);
    }).on("error", reject).end();
  });
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
