import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { delay, settlesWithin, withTimeout } from "./timers.ts";

const never = new Promise<never>(() => {});

describe("timers", () => {
  test("settlesWithin() says whether the work settled in time", async () => {
    assert.equal(await settlesWithin(Promise.resolve("done"), 1000), true);
    assert.equal(await settlesWithin(never, 5), false);
  });

  test("settlesWithin() rejects when the work rejects first", async () => {
    await assert.rejects(settlesWithin(Promise.reject(new Error("broke")), 1000), /broke/);
  });

  test("a delay too long for setTimeout means no limit, not the 1 ms runtimes make of it", async () => {
    // Infinity and 2^31 ms fire after 1 ms with a bare setTimeout: here the work decides.
    for (const ms of [Infinity, 2 ** 31]) {
      const work = delay(20).then(() => "work");
      assert.equal(await settlesWithin(work, ms), true);
      // A delay that has not fired 50 ms on has not become a 1 ms timer.
      const first = await Promise.race([
        delay(ms).then(() => "delay"),
        delay(50).then(() => "50 ms"),
      ]);
      assert.equal(first, "50 ms", `delay(${ms}) fired before 50 ms had passed`);
    }
  });

  test("withTimeout() passes the value on, or rejects with what onTimeout gives", async () => {
    assert.equal(await withTimeout(Promise.resolve(42), 1000, () => new Error("late")), 42);
    await assert.rejects(withTimeout(never, 5, () => new Error("late")), /late/);
  });
});
