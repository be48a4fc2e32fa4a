/**
 * The access log (issue 23): `accessLog` writes one `info` line per request through the app's
 * logger once its response is sent, with `{ method, path, status, durationMs, bytes, remote,
 * protocol }`; against a real server in a child process, with real HTTP/1.1, HTTP/2 and
 * unix-socket clients.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { testCertificate } from "./certificate.ts";
import { Child } from "./child.ts";
import { runtimeName, scriptCommand } from "./helpers.ts";

const fixture = new URL("./fixtures/access-log.ts", import.meta.url).pathname;
const certificate = testCertificate();
const dir = mkdtempSync(join(tmpdir(), "lifespan-access-log-"));
after(() => {
  certificate[Symbol.dispose]();
  rmSync(dir, { recursive: true, force: true });
});

const ACCESS = /^log info \{.*"protocol":/;

/** The access log lines printed so far, parsed. */
function accessLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.filter((line) => ACCESS.test(line)).map((line) =>
    JSON.parse(line.slice("log info ".length))
  );
}

/** The `count`th access line, once printed. */
async function nthAccessLine(child: Child, count: number): Promise<Record<string, unknown>> {
  const found = await child.waitForCount(ACCESS, count);
  assert.equal(found.length, count, `the child exited:\n${child.stderr}`);
  return JSON.parse(found[count - 1]!.slice("log info ".length));
}

/** A request on a fresh connection (or to a unix socket); resolves with the body read. */
function send(
  url: string,
  { method = "GET", body, socketPath }: { method?: string; body?: string; socketPath?: string } =
    {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { method, agent: false as const };
    const respond = (response: import("node:http").IncomingMessage) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk) => text += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body: text }));
      response.on("error", reject);
    };
    const request = socketPath === undefined
      ? httpRequest(url, options, respond)
      : httpRequest({ ...options, socketPath, path: url }, respond);
    request.on("error", reject);
    request.end(body);
  });
}

/** The fields every line has, checked; returns the line without `durationMs`. */
function withoutDuration(line: Record<string, unknown>): Record<string, unknown> {
  const { durationMs, ...rest } = line;
  assert.equal(typeof durationMs, "number");
  assert.ok((durationMs as number) >= 0);
  return rest;
}

function start(config: Record<string, unknown>): Child {
  return new Child(fixture, { FIXTURE: JSON.stringify(config) });
}

describe(`the access log on ${runtimeName}`, () => {
  test("accessLog: true logs each request once sent: a GET, a POST, a stream, a 404, a 500", async () => {
    await using child = start({ options: { accessLog: true } });
    const url = await child.url();
    const h1 = { remote: "127.0.0.1", protocol: "HTTP/1.1" };

    assert.deepEqual(await send(`${url}/x?token=secret`), { status: 200, body: "héllo" });
    const get = await nthAccessLine(child, 1);
    assert.deepEqual(withoutDuration(get), {
      message: "GET /x 200",
      method: "GET",
      path: "/x",
      status: 200,
      bytes: 6,
      ...h1,
    });
    assert.ok(!child.lines.some((line) => line.includes("secret")), "no query string by default");

    await send(`${url}/echo`, { method: "POST", body: "hello" });
    assert.deepEqual(withoutDuration(await nthAccessLine(child, 2)), {
      message: "POST /echo 201",
      method: "POST",
      path: "/echo",
      status: 201,
      bytes: 5,
      ...h1,
    });

    assert.deepEqual(await send(`${url}/stream`), { status: 200, body: "tick\n".repeat(3) });
    const stream = await nthAccessLine(child, 3);
    assert.deepEqual(withoutDuration(stream), {
      message: "GET /stream 200",
      method: "GET",
      path: "/stream",
      status: 200,
      bytes: 15,
      ...h1,
    });
    // Written once the stream ended, not when the handler returned: its chunks are 50 ms apart.
    const ended = child.lines.indexOf("stream ended");
    const logged = child.lines.findIndex((line) => line.includes('"path":"/stream"'));
    assert.ok(ended >= 0 && ended < logged, child.lines.join("\n"));
    assert.ok((stream.durationMs as number) >= 100, String(stream.durationMs));

    assert.equal((await send(`${url}/nope`)).status, 404);
    assert.deepEqual(withoutDuration(await nthAccessLine(child, 4)), {
      message: "GET /nope 404",
      method: "GET",
      path: "/nope",
      status: 404,
      bytes: "404 Not Found".length,
      ...h1,
    });

    assert.equal((await send(`${url}/fail`)).status, 500);
    const failed = withoutDuration(await nthAccessLine(child, 5));
    assert.deepEqual({ ...failed, bytes: undefined }, {
      message: "GET /fail 500",
      method: "GET",
      path: "/fail",
      status: 500,
      bytes: undefined,
      ...h1,
    });

    child.kill("SIGTERM");
    const exit = await child.exitedWithin(30_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(accessLines(exit.stdout).length, 5, "one line per request");
  });

  test("accessLog: { query: true } logs the query string with the path", async () => {
    await using child = start({ options: { accessLog: { query: true } } });
    const url = await child.url();
    await send(`${url}/x?token=secret&b=2`);
    const line = await nthAccessLine(child, 1);
    assert.equal(line.path, "/x?token=secret&b=2");
    assert.equal(line.message, "GET /x?token=secret&b=2 200");
    child.kill("SIGTERM");
    assert.equal((await child.exitedWithin(30_000, "SIGTERM")).code, 0);
  });

  test("without accessLog, no line is written", async () => {
    await using child = start({ options: {} });
    const url = await child.url();
    assert.equal((await send(`${url}/x`)).status, 200);
    await send(`${url}/stream`);
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(30_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(accessLines(exit.stdout), []);
  });

  test("an HTTP/2 request is logged with its protocol (null on Bun, which does not tell)", async () => {
    await using child = start({
      tlsFiles: certificate.files,
      options: { accessLog: true, http2: true },
    });
    const url = await child.url();
    const client = connect(url, { ca: certificate.cert });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = client.request({ ":path": "/x?q=1" });
        let text = "";
        stream.setEncoding("utf8").on("data", (chunk) => text += chunk);
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
      });
      assert.equal(body, "héllo");
      assert.equal(client.alpnProtocol, "h2");
    } finally {
      client.close();
    }
    assert.deepEqual(withoutDuration(await nthAccessLine(child, 1)), {
      message: "GET /x 200",
      method: "GET",
      path: "/x",
      status: 200,
      bytes: 6,
      remote: "127.0.0.1",
      protocol: runtimeName === "bun" ? null : "HTTP/2",
    });
    child.kill("SIGTERM");
    assert.equal((await child.exitedWithin(30_000, "SIGTERM")).code, 0);
  });

  test("on a unix socket, remote is null", async () => {
    const socketPath = join(dir, "app.sock");
    await using child = start({ options: { accessLog: true, unix: socketPath } });
    await child.url();
    assert.equal((await send("/x", { socketPath })).status, 200);
    assert.deepEqual(withoutDuration(await nthAccessLine(child, 1)), {
      message: "GET /x 200",
      method: "GET",
      path: "/x",
      status: 200,
      bytes: 6,
      remote: null,
      protocol: "HTTP/1.1",
    });
    child.kill("SIGTERM");
    assert.equal((await child.exitedWithin(30_000, "SIGTERM")).code, 0);
  });

  test("lifespan-hono --access-log writes the line on the console", async () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const [command, args] = scriptCommand(fileURLToPath(new URL("../cli.ts", import.meta.url)));
    await using child = new Child(
      [command, [...args, "--port", "0", "--access-log", "tests/fixtures/cli-app.ts"]],
      {},
      root,
    );
    const url = await child.url();
    assert.equal((await send(`${url}/?secret=1`)).status, 200);
    assert.equal(await child.waitFor(/^GET \/ 200$/), "GET / 200");
    child.kill("SIGTERM");
    const exit = await child.exitedWithin(30_000, "SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(!exit.stdout.some((line) => line.includes("secret")));
  });
});
