/**
 * Zero-downtime reload (issue 17): SIGHUP or `server.reload()` in a primary replaces its
 * workers one at a time with processes that load the code on disk now, under a steady
 * keep-alive load that must see no failed request.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
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
    const child = new Child(fixture, {
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
    assert.equal(exit.stdout.at(-1), "finished");
  });
});
