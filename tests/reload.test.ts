/**
 * Zero-downtime reload (issue 17): SIGHUP or `server.reload()` in a primary replaces its
 * workers one at a time with processes that load the code on disk now, under a steady
 * keep-alive load that must see no failed request.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App, serve } from "../mod.ts";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";
import { KeepAliveLoad } from "./load.ts";

const fixture = new URL("./fixtures/workers.ts", import.meta.url).pathname;

/** A directory with the app's "code on disk": a module exporting `version` (and `broken`). */
function deployment(): { module: string; deploy(version: string, broken?: boolean): void } & {
  [Symbol.dispose](): void;
} {
  const dir = mkdtempSync(join(tmpdir(), "lifespan-reload-"));
  const module = join(dir, "version.ts");
  const deploy = (version: string, broken = false) =>
    writeFileSync(
      module,
      `export const version = ${JSON.stringify(version)};\nexport const broken = ${broken};\n`,
    );
  deploy("v1");
  return { module, deploy, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `listening <pid> <port> <worker>` lines' pids. */
function listening(lines: readonly string[]): string[] {
  return lines.filter((line) => line.startsWith("listening ")).map((line) => line.split(" ")[1]!);
}

/** Each pid's number of lines `<word> <pid>`. */
function counts(lines: readonly string[], word: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of lines.filter((line) => line.startsWith(`${word} `)).toSorted()) {
    const pid = line.split(" ")[1]!;
    result[pid] = (result[pid] ?? 0) + 1;
  }
  return result;
}

describe(`reloading workers on ${runtimeName}`, () => {
  test("SIGHUP twice under keep-alive load: no request fails, the new code answers", {
    timeout: 120_000,
  }, async () => {
    using code = deployment();
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ versionModule: code.module, options: { workers: 2 } }),
    });
    const url = await child.url();
    const generations = [listening(await child.waitForCount(/^listening /, 2))];
    const load = new KeepAliveLoad(url, "/version", 6);
    await load.more(300);
    const durations: number[] = [];
    /** When each reload began, and when it was seen over, on the load's clock. */
    const reloadBegan: number[] = [];
    const reloadedAt: number[] = [];
    for (const [round, version] of ["v2", "v3"].entries()) {
      code.deploy(version);
      const began = performance.now();
      reloadBegan.push(began);
      child.kill("SIGHUP");
      const done = await child.waitForCount(/^Reloaded: /, round + 1);
      assert.equal(done.length, round + 1, child.stderr);
      reloadedAt.push(performance.now());
      durations.push(Math.round(reloadedAt[round]! - began));
      generations.push(listening(child.lines).slice(2 * (round + 1), 2 * (round + 2)));
      await load.more(300);
    }
    const report = await load.stop();
    child.kill("SIGTERM");
    const exit = await child.exited;

    console.log(
      `${runtimeName}: ${report.outcomes.length} requests on ${report.connections} ` +
        `connections, failures ${JSON.stringify(report.failures)}, reloads took ` +
        `${durations.join(" and ")} ms`,
    );
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(report.failures, {});
    assert.ok(report.outcomes.every((outcome) => outcome.ok && outcome.status === 200));
    // After each reload, only that generation's workers answer, with the code deployed for it.
    for (const [round, at] of reloadedAt.entries()) {
      const until = reloadBegan[round + 1] ?? Infinity;
      const answers = new Set(
        report.outcomes.filter((outcome) => outcome.sentAt > at && outcome.sentAt < until)
          .map((outcome) => outcome.ok ? outcome.body : outcome.kind),
      );
      const expected = generations[round + 1]!.map((pid) => `${pid} v${round + 2}`);
      assert.ok([...answers].every((answer) => expected.includes(answer)), [...answers].join());
    }
    // Every worker of every generation started once and shut down once.
    const all = generations.flat();
    assert.equal(new Set(all).size, 6);
    const once = Object.fromEntries(all.map((pid) => [pid, 1]));
    assert.deepEqual(counts(exit.stdout, "startup"), once);
    assert.deepEqual(counts(exit.stdout, "shutdown"), once);
    // finished settled once, at the end: not at a reload.
    assert.deepEqual(exit.stdout.filter((line) => line.startsWith("finished")), ["finished"]);
    assert.equal(exit.stdout.at(-1), "finished");
  });

  test(
    "a new version failing its startup: reload() rejects naming the hook, the old ones serve on",
    {
      timeout: 120_000,
    },
    async () => {
      using code = deployment();
      await using child = new Child(fixture, {
        FIXTURE: JSON.stringify({
          versionModule: code.module,
          reloadOnSignal: true,
          options: { workers: 2 },
        }),
      });
      const url = await child.url();
      const old = listening(await child.waitForCount(/^listening /, 2));
      const load = new KeepAliveLoad(url, "/version", 4);
      await load.more(200);
      code.deploy("v2", true);
      child.kill("SIGUSR2"); // the fixture calls server.reload()
      const failed = await child.waitFor(/^reload failed /);
      assert.match(
        failed,
        /^reload failed Reload stopped: the new Worker 1 of 2 \(pid \d+\) failed at startup: Startup failed: beforeServing hook connectDatabase threw: database is down\. The workers it would have replaced keep serving$/,
      );
      await load.more(200);
      const report = await load.stop();
      assert.deepEqual(report.failures, {});
      // Only the old workers answered (the kernel may have given every connection to one).
      const expected = old.map((pid) => `${pid} v1`);
      const answers = [...new Set(report.outcomes.map((outcome) => outcome.ok && outcome.body))];
      assert.ok(answers.every((answer) => expected.includes(String(answer))), answers.join());
      assert.match(child.stderr, /Reload stopped: .*beforeServing hook connectDatabase threw/);

      // The fixed version reloads.
      code.deploy("v3");
      child.kill("SIGUSR2");
      assert.equal((await child.waitForCount(/^reload(ed$| failed )/, 2))[1], "reloaded");
      child.kill("SIGTERM");
      const exit = await child.exited;
      assert.equal(exit.code, 0, exit.stderr);
      const renewed = listening(exit.stdout).slice(2);
      assert.equal(renewed.length, 2);
      // The broken worker ran its startup, failed, and had nothing to shut down.
      const started = Object.keys(counts(exit.stdout, "startup"));
      const broken = started.filter((pid) => ![...old, ...renewed].includes(pid));
      assert.equal(broken.length, 1, exit.stdout.join("\n"));
      const once = Object.fromEntries([...old, ...renewed].map((pid) => [pid, 1]));
      assert.deepEqual(counts(exit.stdout, "shutdown"), once);
    },
  );

  test("SIGHUP to every process, as a terminal hanging up: one reload, no worker dies of it", {
    timeout: 120_000,
  }, async () => {
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ options: { workers: 2 } }),
    });
    await child.url();
    const old = listening(await child.waitForCount(/^listening /, 2));
    for (const pid of [...old, child.pid]) process.kill(Number(pid), "SIGHUP");
    await child.waitFor(/^Reloaded: /);
    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.doesNotMatch(exit.stderr, /restarting|killed by/);
    const all = listening(exit.stdout);
    assert.equal(all.length, 4);
    const once = Object.fromEntries(all.map((pid) => [pid, 1]));
    assert.deepEqual(counts(exit.stdout, "shutdown"), once);
  });

  test("with workers: 1, SIGHUP keeps the runtime's default: it ends the process", {
    timeout: 60_000,
  }, async () => {
    await using child = new Child(fixture, {
      FIXTURE: JSON.stringify({ options: { workers: 1 } }),
    });
    await child.url();
    child.kill("SIGHUP");
    const exit = await child.exited;
    assert.equal(exit.signal, "SIGHUP", `${exit.code} ${exit.stderr}`);
  });

  test("reload() without workers rejects with an Error saying it needs workers >= 2", async () => {
    await using server = await serve(new App(), { port: 0, handleSignals: false });
    await assert.rejects(server.reload(), {
      name: "Error",
      message: "Cannot reload: reload() replaces worker processes and needs workers >= 2, and " +
        "this server serves the app in its own process",
    });
  });
});
