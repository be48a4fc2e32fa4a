import assert from "node:assert/strict";
import { test } from "node:test";
import { RunningRequests } from "./in_flight.ts";

test("RunningRequests names each request still running, oldest first, until it is deleted", () => {
  const running = new RunningRequests();
  const before = Date.now();
  const report = running.add(new Request("http://localhost/report?year=2026", { method: "POST" }));
  const slow = running.add(new Request("http://localhost/slow"));
  assert.equal(running.size, 2);
  const named = running.named();
  assert.deepEqual(named.map(({ method, url }) => [method, url]), [
    ["POST", "http://localhost/report?year=2026"],
    ["GET", "http://localhost/slow"],
  ]);
  for (const { startedAt } of named) assert.ok(startedAt >= before && startedAt <= Date.now());

  assert.equal(running.delete(report), true);
  assert.equal(running.delete(report), false);
  assert.deepEqual(running.named().map(({ url }) => url), ["http://localhost/slow"]);
  assert.equal(running.delete(slow), true);
  assert.equal(running.size, 0);
  assert.deepEqual(running.named(), []);
});
