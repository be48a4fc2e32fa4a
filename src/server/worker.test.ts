import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RELEASE_WAIT_MS, type Report, WORKER_ENV } from "./worker.ts";

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const dir = mkdtempSync(join(tmpdir(), "lifespan-worker-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A worker that reports its stop, then says when `stopped()` resolved. */
const script = join(dir, "worker.mts");
writeFileSync(
  script,
  `import { joinPrimary } from ${JSON.stringify(fileURLToPath(import.meta.resolve("./worker.ts")))};
const link = joinPrimary(process.env.${WORKER_ENV});
await link!.stopped(true);
process.send!({ resolved: true });
process.disconnect();
`,
);

/** Forks the worker; `onStopped` answers its "stopped" report. Resolves with what happened. */
function stopWorker(onStopped: (send: (message: unknown) => void) => void): Promise<string[]> {
  const events: string[] = [];
  const child = fork(script, {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, [WORKER_ENV]: JSON.stringify({ index: 1, port: 0 }) },
  });
  child.on("message", (message) => {
    if ((message as Report).lifespanWorker === "stopped") {
      events.push("stopped");
      onStopped((order) => {
        events.push("released");
        child.send(order as object);
      });
    } else events.push("resolved");
  });
  return new Promise((resolve, reject) => {
    // A liveness bound: a worker that never goes fails the test instead of hanging it.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the worker was still there after 10 s: ${events.join(", ")}`));
    }, 10_000);
    child.on("error", reject);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(events);
    });
  });
}

describe("a worker's stop", { skip: !onNode && "forks a Node child" }, () => {
  test("stopped() resolves once the primary has released the worker, not before", async () => {
    // Released late: a worker that went on at once would say so first.
    const events = await stopWorker((send) =>
      setTimeout(() => send({ lifespanPrimary: "released" }), 300)
    );
    assert.deepEqual(events, ["stopped", "released", "resolved"]);
  });

  test(`stopped() resolves after ${RELEASE_WAIT_MS} ms when the primary never answers`, async () => {
    const events = await stopWorker(() => {});
    assert.deepEqual(events, ["stopped", "resolved"]);
  });
});
