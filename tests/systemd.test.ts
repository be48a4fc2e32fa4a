/**
 * examples/systemd, simulated: the app started as the unit's ExecStart would (its Environment,
 * by its path through the `current` symlink of a release layout), reloaded as ExecReload does
 * (SIGHUP to the main process) after a deploy re-pointed the symlink, under keep-alive load,
 * and stopped as KillSignal and KillMode=mixed do (SIGTERM to the main process).
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";
import { KeepAliveLoad } from "./load.ts";
import { stopBudget } from "./stop-budget.ts";

const example = new URL("../examples/systemd/", import.meta.url);
const unit = readFileSync(new URL("lifespan-hono.service", example), "utf8");

/** The values of a directive of the unit, e.g. every `Environment=` line's. */
function directive(name: string): string[] {
  return [...unit.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((match) => match[1]!);
}

/** The unit's environment: every `Environment=` line's `NAME=value` pairs. */
const environment: Record<string, string> = Object.fromEntries(
  directive("Environment").flatMap((line) => line.split(/\s+/)).map((pair) => pair.split("=", 2)),
);

describe(`examples/systemd on ${runtimeName}`, () => {
  test("the unit reloads with SIGHUP, stops with SIGTERM, and its stop timeout fits the app's", async () => {
    assert.deepEqual(directive("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert.deepEqual(directive("KillSignal"), ["SIGTERM"]);
    assert.deepEqual(directive("KillMode"), ["mixed"]);
    assert.match(directive("ExecStart")[0]!, / \/srv\/lifespan-hono\/current\/app\.ts$/);
    // What app.ts runs with under the unit's environment, and the steps its shutdown takes.
    const { parts, neededMs } = await stopBudget(new URL("app.ts", example), {
      ...environment,
      PORT: "0",
    });
    const timeout = Number(directive("TimeoutStopSec")[0]) * 1000;
    assert.ok(
      environment.GRACEFUL_TIMEOUT_MS !== undefined && timeout > neededMs,
      `TimeoutStopSec ${timeout} ms, needed ${neededMs} ms: ${JSON.stringify(parts)}`,
    );
  });

  test("start, deploy and reload under keep-alive load, stop: no request fails, exit 0", {
    timeout: 120_000,
  }, async () => {
    // /srv/lifespan-hono: releases/<version>/app.ts and `current`, inside the repository so that
    // the app's `@lifespan/hono` resolves as an installed package would.
    const cache = new URL("../.cache/", import.meta.url).pathname;
    mkdirSync(cache, { recursive: true });
    const srv = mkdtempSync(join(cache, "systemd-"));
    try {
      const source = readFileSync(new URL("app.ts", example), "utf8");
      const release = (version: string) => {
        mkdirSync(join(srv, "releases", version), { recursive: true });
        writeFileSync(
          join(srv, "releases", version, "app.ts"),
          source.replace('const version = "1.0.0";', `const version = "${version}";`),
        );
      };
      /** Re-points `current` at once, as a deploy does (a new link renamed over the old). */
      const point = (version: string) => {
        symlinkSync(join("releases", version), join(srv, "current.new"));
        renameSync(join(srv, "current.new"), join(srv, "current"));
      };
      release("1.0.0");
      point("1.0.0");

      // ExecStart, with the unit's Environment (a free port instead of 8000).
      await using child = new Child(join(srv, "current", "app.ts"), { ...environment, PORT: "0" });
      const url = await child.url();
      const load = new KeepAliveLoad(url, "/", 4);
      await load.more(200);

      release("2.0.0");
      point("2.0.0");
      child.kill("SIGHUP"); // ExecReload
      await child.waitFor(/^Reloaded: /);
      const reloadedAt = performance.now();
      await load.more(200);
      const report = await load.stop();

      const stopping = performance.now();
      child.kill("SIGTERM"); // systemctl stop, KillMode=mixed
      const exit = await child.exited;
      const stopMs = performance.now() - stopping;

      assert.equal(exit.code, 0, exit.stderr);
      assert.ok(stopMs < Number(directive("TimeoutStopSec")[0]) * 1000);
      assert.deepEqual(report.failures, {});
      const after = report.outcomes.filter((outcome) => outcome.sentAt > reloadedAt);
      assert.ok(after.length > 0);
      for (const outcome of after) {
        assert.match(outcome.ok ? outcome.body : outcome.kind, /, version 2\.0\.0\n$/);
      }
      // Two workers of each release opened their pool and closed it once.
      const opened = exit.stdout.filter((line) => /: version .*, pool open$/.test(line));
      assert.deepEqual(
        opened.map((line) => line.replace(/^pid \d+: /, "")).toSorted(),
        [
          "version 1.0.0, pool open",
          "version 1.0.0, pool open",
          "version 2.0.0, pool open",
          "version 2.0.0, pool open",
        ],
      );
      assert.equal(exit.stdout.filter((line) => /: pool closed$/.test(line)).length, 4);
    } finally {
      rmSync(srv, { recursive: true, force: true });
    }
  });
});
