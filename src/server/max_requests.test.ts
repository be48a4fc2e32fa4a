import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { countingRequests, requestLimit } from "./max_requests.ts";

describe("maxRequests", () => {
  test("countingRequests() calls back once, at the limit-th request, and answers every request", async () => {
    let reached = 0;
    const handler = countingRequests(() => new Response("ok"), 3, () => reached++);
    const answers: string[] = [];
    for (let i = 1; i <= 5; i++) {
      answers.push(await (await handler(new Request("http://x/"))).text());
      assert.equal(reached, i >= 3 ? 1 : 0, `after request ${i}`);
    }
    assert.deepEqual(answers, ["ok", "ok", "ok", "ok", "ok"]);
  });

  test("requestLimit() adds a whole number from 0 to the jitter, both ends included", () => {
    assert.equal(requestLimit(200, 0, () => 0.999), 200);
    assert.equal(requestLimit(200, 10, () => 0), 200);
    assert.equal(requestLimit(200, 10, () => 0.999999), 210);
    assert.equal(requestLimit(200, 10, () => 0.5), 205);
  });
});
