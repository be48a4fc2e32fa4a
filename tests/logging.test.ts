/**
 * examples/logging: the library's lines through Pino and through LogTape, as JSON lines, with
 * their structured fields. Each example runs in a child process, is stopped with SIGTERM while
 * GET /report runs past its 1 s grace period, and its output is parsed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

/** One line of either logger, read back as message, level and fields. */
interface Line {
  message: string;
  level: string;
  fields: Record<string, unknown>;
}

/** Pino: `msg`, a numeric `level`, the fields at the top. */
function fromPino(text: string): Line {
  const { msg, level, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(text);
  const levels: Record<number, string> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };
  return { message: msg, level: levels[level] ?? String(level), fields };
}

/** LogTape's JSON Lines: `message`, a `level` name, the fields under `properties`. */
function fromLogTape(text: string): Line {
  const { message, level, properties } = JSON.parse(text);
  return {
    message,
    level: level === "WARNING" ? "warn" : String(level).toLowerCase(),
    fields: properties,
  };
}

const examples = [
  { name: "pino", parse: fromPino },
  { name: "logtape", parse: fromLogTape },
];

describe(`examples/logging on ${runtimeName}`, () => {
  for (const { name, parse } of examples) {
    test(`${name}: hook timings, the stop and the cut request as JSON with their fields`, {
      timeout: 20_000,
    }, async () => {
      const script = new URL(`../examples/logging/${name}.ts`, import.meta.url).pathname;
      await using child = new Child(script, { PORT: "0" });
      const url = await child.url();
      const report = fetch(`${url}/report?user=secret`).catch(() => "cut");
      await child.waitFor(/Building the report/);
      child.kill("SIGTERM");
      const exit = await child.exited;
      await report;
      assert.equal(exit.code, 0, exit.stderr);
      // LogTape's console sink writes warnings to stderr.
      const lines = [...exit.stdout, ...exit.stderr.split("\n")]
        .filter((line) => line.startsWith("{"))
        .map(parse);
      const find = (pattern: RegExp) => {
        const found = lines.find((line) => pattern.test(line.message));
        assert.ok(found, `no line matches ${pattern}:\n${exit.stdout.join("\n")}\n${exit.stderr}`);
        return found;
      };

      const hook = lines.find((line) => line.fields.hook === "connectDb");
      assert.ok(hook, exit.stdout.join("\n"));
      assert.equal(hook.level, "debug");
      assert.equal(hook.fields.phase, "startup");
      assert.ok((hook.fields.durationMs as number) >= 45, String(hook.fields.durationMs));
      const started = find(/^Started in \d+ ms \(connectDb \d+ ms\)$/);
      assert.equal(started.level, "info");
      assert.deepEqual(
        started.fields.hooks,
        [hook.fields.durationMs].map((durationMs) => ({
          hook: "connectDb",
          durationMs,
        })),
      );
      find(/^Running on http:\/\/127\.0\.0\.1:\d+ \(CTRL \+ C to quit\)$/);
      const stopping = find(/^Shutting down \(SIGTERM\): 1 request, /);
      assert.equal(stopping.fields.reason, "SIGTERM");
      assert.equal(stopping.fields.requests, 1);
      const cut = find(/^Cut GET \/report after \d+ ms: the 1000 ms grace period is over$/);
      assert.equal(cut.level, "warn");
      assert.deepEqual(
        [cut.fields.method, cut.fields.path, cut.fields.gracefulTimeoutMs],
        ["GET", "/report", 1000],
      );
      assert.ok((cut.fields.durationMs as number) >= 1000, String(cut.fields.durationMs));
      const stopped = find(/^Stopped in \d+ ms \(drain \d+ ms, teardown \d+ ms\)$/);
      assert.ok((stopped.fields.drainMs as number) >= 1000, String(stopped.fields.drainMs));
      assert.equal(typeof stopped.fields.teardownMs, "number");
    });
  }
});
