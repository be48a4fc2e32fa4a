/**
 * The test plays an orchestrator and a load balancer in front of the server: it waits for
 * readiness, sends a steady load, sends SIGTERM, sees readiness fail while requests are still
 * served (shutdownDelay), stops routing new requests, and checks that no request was lost.
 *
 * Routing stops once readiness fails, as a load balancer's does: new connections racing the
 * listener's close can be reset by the kernel (those in its accept queue) on every runtime,
 * which is what shutdownDelay is for.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";
import { stopBudget } from "./stop-budget.ts";

const fixture = new URL("./fixtures/workers.ts", import.meta.url).pathname;

/** How one request ended: a full response, refused at connect, or lost on the way. */
type Outcome =
  | { kind: "response"; status: number; body: string }
  | { kind: "refused" }
  | { kind: "lost"; error: string };

/**
 * A GET over a fresh connection, as a load balancer's new connection to a backend. Node's
 * client fails a response cut short (truncated body, reset) with an error: that is "lost".
 */
function send(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ kind: "response", status: response.statusCode!, body }));
      response.on("error", (error) => resolve({ kind: "lost", error: error.message }));
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === "ECONNREFUSED" ? { kind: "refused" } : {
          kind: "lost",
          error: `${error.code ?? ""} ${error.message}`,
        },
      );
    });
    request.end();
  });
}

for (const workers of [1, 2]) {
  describe(`an orchestrator stopping ${workers} worker(s) on ${runtimeName}`, () => {
    test("readiness fails before the listener closes, and no request is lost", {
      timeout: 60_000,
    }, async () => {
      const child = new Child(fixture, {
        FIXTURE: JSON.stringify({
          options: {
            workers,
            health: { path: "/healthz" },
            shutdownDelay: 300,
            gracefulTimeout: 2000,
          },
        }),
      });
      const url = await child.url();

      // Readiness: the server answers it only once it can serve, so poll until 200.
      let ready: Outcome | undefined;
      for (let attempt = 0; attempt < 100; attempt++) {
        ready = await send(`${url}/healthz`);
        if (ready.kind === "response" && ready.status === 200) break;
      }
      assert.deepEqual(ready, { kind: "response", status: 200, body: "OK" });

      // Steady load: 5 clients, one request at a time each, while the endpoint is routed to.
      let routing = true;
      let unreadySeen = false;
      const outcomes: Outcome[] = [];
      /** Requests sent after readiness was seen failing, and how they ended. */
      const afterUnready: Outcome[] = [];
      let onProgress = () => {};
      const client = async (id: number) => {
        for (let i = 0; routing && i < 10_000; i++) {
          const sentAfterUnready = unreadySeen;
          const outcome = await send(`${url}/work?ms=${(id * 7 + i) % 20}`);
          outcomes.push(outcome);
          if (sentAfterUnready) afterUnready.push(outcome);
          onProgress();
        }
      };
      const progress = (done: () => boolean) =>
        new Promise<void>((resolve) => {
          onProgress = () => done() && resolve();
          onProgress();
        });
      const clients = Promise.all([0, 1, 2, 3, 4].map(client));
      await progress(() => outcomes.length >= 25);

      child.kill("SIGTERM");
      // The orchestrator keeps probing: readiness must fail while the socket still answers.
      let probe: Outcome | undefined;
      for (let attempt = 0; attempt < 1000; attempt++) {
        probe = await send(`${url}/healthz`);
        if (probe.kind !== "response" || probe.status !== 200) break;
      }
      assert.deepEqual(probe, { kind: "response", status: 503, body: "Service Unavailable" });
      unreadySeen = true;
      // A load balancer takes a moment to notice: requests sent meanwhile are still served,
      // and one still running when the listener closes finishes in the drain.
      const spanningClose = send(`${url}/work?ms=600`);
      await progress(() => afterUnready.length >= 5);
      routing = false;
      await clients;
      const spanning = await spanningClose;
      assert.equal(spanning.kind, "response", JSON.stringify(spanning));
      outcomes.push(spanning);

      const exit = await child.exited;
      assert.equal(exit.code, 0, exit.stderr);
      const lost = outcomes.filter((outcome) => outcome.kind === "lost");
      assert.deepEqual(lost, []);
      const answered = outcomes.filter((outcome) => outcome.kind === "response");
      assert.ok(answered.every((outcome) => outcome.status === 200), JSON.stringify(answered));
      assert.ok(
        afterUnready.every((outcome) => outcome.kind === "response" && outcome.status === 200),
        JSON.stringify(afterUnready),
      );
      // Once stopped, the port refuses connections rather than accepting and dropping them.
      assert.deepEqual(await send(url), { kind: "refused" });
    });
  });
}

describe(`examples/kubernetes on ${runtimeName}`, () => {
  const example = new URL("../examples/kubernetes/", import.meta.url);

  test("the manifest's grace period fits the app's delay, drain, cut and teardown", async () => {
    const manifest = readFileSync(new URL("deployment.yaml", example), "utf8");
    const env = Object.fromEntries(
      [...manifest.matchAll(/- name: (\w+)\s+value: "([^"]*)"/g)].map((match) => [
        match[1]!,
        match[2]!,
      ]),
    );
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(manifest)?.[1]) * 1000;
    // What app.ts runs with under the manifest's environment, and the steps its shutdown takes.
    const { parts, neededMs } = await stopBudget(new URL("app.ts", example), {
      ...env,
      PORT: "0",
      HOST: "127.0.0.1",
    });
    assert.ok(
      env.SHUTDOWN_DELAY_MS !== undefined && grace > neededMs,
      `grace ${grace} ms, needed ${neededMs} ms: ${JSON.stringify(parts)}`,
    );
  });

  test("app.ts with 2 workers: ready, then unready at SIGTERM, then every pool closed", {
    timeout: 60_000,
  }, async () => {
    const child = new Child(new URL("app.ts", example).pathname, {
      PORT: "0",
      HOST: "127.0.0.1",
      WORKERS: "2",
      SHUTDOWN_DELAY_MS: "200",
    });
    const url = await child.url();
    assert.deepEqual(await send(`${url}/healthz`), { kind: "response", status: 200, body: "OK" });
    child.kill("SIGTERM");
    let probe: Outcome | undefined;
    for (let attempt = 0; attempt < 1000; attempt++) {
      probe = await send(`${url}/healthz`);
      if (probe.kind !== "response" || probe.status !== 200) break;
    }
    assert.deepEqual(probe, { kind: "response", status: 503, body: "Service Unavailable" });
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.filter((line) => /pool closed$/.test(line)).length, 2);
  });
});
