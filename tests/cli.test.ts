/**
 * The command line, `lifespan-hono [options] <module>[:<export>]`, run as a child process on
 * the runtime under test (`cli.ts` from the sources; tests/package.test.ts runs the published
 * bin): it serves a module's app with its lifespan, and a usage error exits 2 with nothing
 * started.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { helpText, VERSION } from "../src/server/cli.ts";
import { Child } from "./child.ts";
import { runtimeName, scriptCommand } from "./helpers.ts";
import { freePort, get } from "./http.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = fileURLToPath(new URL("../cli.ts", import.meta.url));
const module = "tests/fixtures/cli-app.ts";

/** `lifespan-hono ...args` on the runtime under test, in the repository's root. */
function lifespanHono(args: string[], env: Record<string, string> = {}): Child {
  const [command, runtimeArgs] = scriptCommand(cli);
  return new Child([command, [...runtimeArgs, ...args]], env, root);
}

/** The lines that start with `word` and a process id, by pid. */
function pids(lines: string[], word: string): string[] {
  return lines.filter((line) => line.startsWith(`${word} `)).map((line) => line.split(" ")[1]!);
}

describe(`the lifespan-hono command line on ${runtimeName}`, () => {
  test("--help lists every flag, as docs/production.md shows it", async () => {
    await using child = lifespanHono(["--help"]);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(`${exit.stdout.join("\n")}\n`, `${helpText()}\n`);
    const page = readFileSync(new URL("../docs/production.md", import.meta.url), "utf8");
    const shown = /```\n\$ lifespan-hono --help\n([\s\S]*?)```/.exec(page)?.[1];
    assert.equal(shown, helpText(), "docs/production.md shows the --help text as it is");
    for (const flag of ["--port", "--host", "--unix", "--workers", "--graceful-timeout"]) {
      assert.match(helpText(), new RegExp(`^  ${flag} `, "m"));
    }
  });

  test("--version prints the version deno.json gives the package", async () => {
    await using child = lifespanHono(["--version"]);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const { version } = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
    assert.equal(VERSION, version);
    assert.deepEqual(exit.stdout, [version]);
  });

  test("serves the default export: startup before the first answer, SIGTERM drains and exits 0", async () => {
    await using child = lifespanHono(["--port", "0", "--graceful-timeout", "5000", module]);
    const url = await child.url();
    const [started] = pids(child.lines, "beforeServing");
    assert.ok(started, "startup ran before the bind");
    assert.deepEqual(await get(url), { status: 200, body: `hello from ${started}` });
    const slow = get(`${url}/slow?ms=300`);
    await child.waitFor(/^slow started$/);
    child.kill("SIGTERM");
    assert.deepEqual(await slow, { status: 200, body: "slow done" });
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(pids(exit.stdout, "afterServing"), [started]);
    assert.deepEqual(pids(exit.stdout, "beforeServing"), [started]);
  });

  for (const [target, body] of [["plain", "plain hono"], ["fetchable", "just fetch"]]) {
    test(`serves a named export (module:${target}) on the port PORT gives`, async () => {
      const port = await freePort();
      await using child = lifespanHono([`${module}:${target}`], { PORT: String(port) });
      const url = await child.url();
      assert.equal(url, `http://127.0.0.1:${port}`);
      assert.deepEqual(await get(url), { status: 200, body });
      child.kill("SIGINT");
      const exit = await child.exited;
      assert.equal(exit.code, 0, exit.stderr);
      assert.deepEqual(pids(exit.stdout, "beforeServing"), [], "a plain app has no hooks");
    });
  }

  test("usage errors: one line on stderr naming the mistake, exit 2, nothing started", async () => {
    const cases: [string[], RegExp][] = [
      [["--prot", "80", module], /^lifespan-hono: Unknown option --prot /],
      [
        ["--port", "eighty", module],
        /^lifespan-hono: --port expects a whole number, got "eighty" /,
      ],
      [
        ["--graceful-timeout", "3s", module],
        /^lifespan-hono: --graceful-timeout expects a number of milliseconds, got "3s" /,
      ],
      [
        ["--workers", "many", module],
        /^lifespan-hono: --workers expects a number or "auto", got "many" /,
      ],
      [
        ["--port", "70000", module],
        /^lifespan-hono: port must be an integer from 0 to 65535, got 70000 /,
      ],
      [["--http2", module], /^lifespan-hono: http2 needs tls: /],
      [
        ["--cert", "missing.pem", "--key", "missing.pem", module],
        /^lifespan-hono: --cert: cannot read missing.pem: /,
      ],
      [
        ["--unix", "/tmp/x.sock", "--host", "0.0.0.0", module],
        /^lifespan-hono: unix and hostname cannot be given together: /,
      ],
      [
        ["tests/fixtures/missing.ts"],
        /^lifespan-hono: Cannot find module tests\/fixtures\/missing.ts /,
      ],
      [[], /^lifespan-hono: Missing the module to serve: /],
      [[module, module], /^lifespan-hono: Expected one module to serve, got 2: /],
      [
        [`${module}:answer`],
        /^lifespan-hono: tests\/fixtures\/cli-app.ts:answer is 42, not an app \(an object with a fetch method\) /,
      ],
      [
        [`${module}:nothing`],
        /^lifespan-hono: tests\/fixtures\/cli-app.ts has no export nothing \(it exports answer, default, fetchable, plain; apps: default, fetchable, plain\): name one, as in tests\/fixtures\/cli-app.ts:default /,
      ],
      [
        ["tests/fixtures/cli-no-app.ts"],
        /^lifespan-hono: tests\/fixtures\/cli-no-app.ts has no default export \(it exports greeting, helper; none is an app\) /,
      ],
    ];
    const env = { WEB_CONCURRENCY: "" };
    for (const [args, message] of cases) {
      await using child = lifespanHono(args, env);
      const exit = await child.exited;
      const what = `lifespan-hono ${args.join(" ")}`;
      assert.equal(exit.code, 2, `${what}: ${exit.stderr}`);
      const lines = exit.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${what}: one line, got ${exit.stderr}`);
      assert.match(lines[0]!, message, what);
      assert.deepEqual(pids(exit.stdout, "beforeServing"), [], `${what}: nothing started`);
    }
  });

  test("--workers 2: each worker runs its own lifespan; SIGHUP reloads them, SIGTERM stops all", {
    timeout: 60_000,
  }, async () => {
    await using child = lifespanHono(["--port", "0", "--workers", "2", module]);
    const url = await child.url();
    const first = await child.waitForCount(/^beforeServing /, 2);
    assert.equal(first.length, 2, child.stderr);
    assert.match((await get(url)).body, /^hello from \d+$/);
    child.kill("SIGHUP");
    await child.waitFor(/Reloaded: 2 workers replaced/);
    const started = pids(child.lines, "beforeServing");
    assert.equal(started.length, 4, "two new workers started");
    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(
      pids(exit.stdout, "afterServing").sort(),
      started.sort(),
      "each shut down once",
    );
  });

  test("WEB_CONCURRENCY gives the number of workers when --workers is absent", {
    timeout: 60_000,
  }, async () => {
    await using child = lifespanHono(["--port", "0", module], { WEB_CONCURRENCY: "2" });
    await child.url();
    assert.equal((await child.waitForCount(/^beforeServing /, 2)).length, 2, child.stderr);
    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(pids(exit.stdout, "afterServing").length, 2);
  });
});
