/**
 * `maxRequests` (issue 23): a worker that has answered its limit (plus its jitter) is replaced
 * as a reload replaces it, under a steady keep-alive load that must see no failed request.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";
import { KeepAliveLoad } from "./load.ts";

const fixture = new URL("./fixtures/workers.ts", import.meta.url).pathname;

/** Each pid's number of lines `<word> <pid>`. */
function counts(lines: readonly string[], word: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of lines.filter((line) => line.startsWith(`${word} `))) {
    const pid = line.split(" ")[1]!;
    result[pid] = (result[pid] ?? 0) + 1;
  }
  return result;
}

/** The number of requests each "answered N requests: replacing it" line gives. */
function answered(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const requests = / answered (\d+) requests: replacing it$/.exec(line)?.[1];
    return requests === undefined ? [] : [Number(requests)];
  });
}

const REPLACED = / listens: Worker \d of \d \(pid \d+\) drains and shuts down$/;

describe(`maxRequests on ${runtimeName}`, () => {
  test(
    "maxRequests 200 with 2 workers under keep-alive load: replaced several times, no request fails",
    {
      timeout: 120_000,
    },
    async () => {
      await using child = new Child(fixture, {
        FIXTURE: JSON.stringify({
          options: { workers: 2, maxRequests: 200, maxRequestsJitter: 20 },
        }),
      });
      const url = await child.url();
      await child.waitForCount(/^listening /, 2);
      // About 300 requests a second: each worker reaches its limit in about 1.5 s.
      const load = new KeepAliveLoad(url, "/", 4, { pauseMs: 10 });
      // Bounded by count: until 4 workers were replaced, or 3000 requests.
      await Promise.race([load.more(3000), child.waitForCount(REPLACED, 4)]);
      const report = await load.stop();
      child.kill("SIGTERM");
      const exit = await child.exitedWithin(30_000, "SIGTERM");
      const replaced = exit.stdout.filter((line) => REPLACED.test(line)).length;
      console.log(
        `${runtimeName}: ${report.outcomes.length} requests on ${report.connections} ` +
          `connections, failures ${JSON.stringify(report.failures)}, ${replaced} workers replaced`,
      );
      assert.equal(exit.code, 0, exit.stderr);
      assert.deepEqual(report.failures, {});
      assert.ok(report.outcomes.every((outcome) => outcome.ok && outcome.status === 200));
      assert.ok(replaced >= 3, `only ${replaced} replaced:\n${exit.stdout.join("\n")}`);
      // Each worker asked at its own limit: 200 plus at most its jitter.
      const limits = answered(exit.stdout);
      assert.ok(limits.length >= replaced, exit.stdout.join("\n"));
      assert.ok(limits.every((n) => n >= 200 && n <= 220), limits.join());
      // A planned replacement: no restart, no error.
      assert.doesNotMatch(exit.stderr, /restarting|killed by|exited with code/);
      // Every worker started once and shut down once; the new ones answered too.
      const started = counts(exit.stdout, "startup");
      assert.ok(Object.keys(started).length >= 2 + replaced, exit.stdout.join("\n"));
      const once = Object.fromEntries(Object.keys(started).map((pid) => [pid, 1]));
      assert.deepEqual(started, once);
      assert.deepEqual(counts(exit.stdout, "shutdown"), once);
      const answers = new Set(report.outcomes.map((outcome) => outcome.ok && outcome.body));
      assert.ok(answers.size >= 3, [...answers].join());
    },
  );

  test("maxRequests with workers left at 1: one worker under a primary, replaced with no gap", {
    timeout: 120_000,
  }, async () => {
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ options: { maxRequests: 50 } }),
    });
    const url = await child.url();
    await child.waitForCount(/^listening /, 1);
    const load = new KeepAliveLoad(url, "/", 2, { pauseMs: 10 });
    await Promise.race([load.more(2000), child.waitForCount(REPLACED, 2)]);
    const report = await load.stop();
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(30_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(report.failures, {});
    assert.ok(
      exit.stdout.filter((line) => REPLACED.test(line)).length >= 2,
      exit.stdout.join("\n"),
    );
    assert.ok(answered(exit.stdout).every((n) => n === 50));
    assert.ok(exit.stdout.some((line) => line.includes("Worker 1 of 1")));
  });
});
