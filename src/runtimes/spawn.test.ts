import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { spawnWorker } from "./spawn.ts";

test("spawnWorker() leaves no error listener of its own behind once spawned", async () => {
  const child = await spawnWorker("sh", ["-c", "exit 0"], {}) as unknown as ChildProcess;
  try {
    assert.equal(child.listenerCount("error"), 0);
  } finally {
    if (child.exitCode === null) await once(child, "exit");
  }
});

test("spawnWorker() rejects when the command cannot be started", async () => {
  await assert.rejects(
    spawnWorker("./no-such-command-of-lifespan-hono", [], {}),
    (error: NodeJS.ErrnoException) => error.code === "ENOENT",
  );
});
