/** The README's example (examples/hello/app.ts), run as a user runs it: a real port, SIGTERM. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const app = new URL("../examples/hello/app.ts", import.meta.url).pathname;

describe(`examples/hello on ${runtimeName}`, () => {
  test("counts visits from startup, times each request, says bye once drained", async () => {
    await using child = new Child(app, { PORT: "0" });
    const url = await child.url();
    for (const visit of [1, 2]) {
      const response = await fetch(url);
      assert.match(await response.text(), new RegExp(`^Visit #${visit} since \\d{4}-`));
      assert.match(response.headers.get("server-timing") ?? "", /^app;dur=\d/);
    }
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(10_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.filter((line) => line === "Served 2 visits. Bye").length, 1);
  });
});
