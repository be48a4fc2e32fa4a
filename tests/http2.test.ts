/**
 * `serve(app, { tls, http2: true })`: HTTP/2 by ALPN and HTTP/1.1 on one port, with a real
 * HTTP/2 client (`node:http2`), a real HTTP/1.1 one (`node:https`) and real signals.
 */
import assert from "node:assert/strict";
import { type ClientHttp2Session, connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import { testCertificate } from "./certificate.ts";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const fixture = new URL("./fixtures/protocols.ts", import.meta.url).pathname;
const certificate = testCertificate();
after(() => certificate[Symbol.dispose]());

function start(config: Record<string, unknown>): Child {
  return new Child(fixture, {
    FIXTURE: JSON.stringify({ tlsFiles: certificate.files, ...config }),
  });
}

/** An HTTP/2 session to `url`, connected, trusting the test certificate. */
async function session(url: string): Promise<ClientHttp2Session> {
  const client = connect(url, { ca: certificate.cert });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

/** A GET on `client`; rejects if the stream fails or ends without a response. */
function h2Get(
  client: ClientHttp2Session,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ":path": path });
    let status: number | undefined;
    let body = "";
    stream.on("response", (headers) => status = headers[":status"]);
    stream.setEncoding("utf8").on("data", (chunk) => body += chunk);
    stream.on("end", () => {
      if (status === undefined) reject(new Error("the stream ended without a response"));
      else resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

/** A GET over HTTP/1.1 (no ALPN offered) on a fresh connection. */
function h1Get(url: string): Promise<{ status: number; version: string; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca: certificate.cert, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on(
        "end",
        () => resolve({ status: response.statusCode!, version: response.httpVersion, body }),
      );
      response.on("error", reject);
    }).on("error", reject).end();
  });
}

/**
 * Deno 2.9.6 drops the streams in flight on a connection whose client sends GOAWAY, and
 * Node's client answers the server's GOAWAY with its own (`session.close()`); curl does not.
 * On Deno, the client here does not either, so that what is tested is the server's drain.
 */
function keepOpenOnGoaway(client: ClientHttp2Session): void {
  if (runtimeName === "deno") client.close = () => client;
}

describe("HTTP/2", () => {
  test("serve({ tls, http2: true }) speaks HTTP/2 by ALPN, HTTP/1.1 on the same port, and WebSockets over HTTP/1.1", async () => {
    await using child = start({ options: { port: 0, http2: true } });
    const url = await child.url();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = await session(url);
    try {
      assert.equal(client.alpnProtocol, "h2");
      assert.match((await h2Get(client, "/")).body, /^hello \d+$/);
    } finally {
      client.close();
    }
    const h1 = await h1Get(url);
    assert.equal(h1.version, "1.1");
    assert.equal(h1.status, 200);
    assert.match(h1.body, /^hello \d+$/);

    const ws = new WebSocket(`${url.replace(/^https/, "wss")}/echo`, { ca: certificate.cert });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const echoed = new Promise<string>((resolve) =>
      ws.once("message", (data) => resolve(String(data)))
    );
    ws.send("hi");
    assert.equal(await echoed, "echo hi");
    const closed = new Promise<number>((resolve) => ws.once("close", resolve));
    child.kill("SIGTERM");
    assert.equal(await closed, 1001);
    assert.equal((await child.exited).code, 0, child.stderr);
  });

  test("at SIGTERM the session gets GOAWAY: its stream in flight finishes with its full body, and a new stream on it is refused", async () => {
    await using child = start({ options: { port: 0, http2: true } });
    const client = await session(await child.url());
    keepOpenOnGoaway(client);
    try {
      const events: string[] = [];
      const slow = h2Get(client, "/slow?ms=1000");
      void slow.then(() => events.push("answered"), () => {});
      await child.waitFor(/^slow started/);
      const goaway = new Promise<number | string>((resolve) => {
        client.once("goaway", resolve);
        client.once("close", () => resolve("the session closed with no GOAWAY"));
      });
      child.kill("SIGTERM");
      assert.equal(await goaway, 0, "GOAWAY with NO_ERROR: a graceful shutdown");
      events.push("goaway");
      await assert.rejects(h2Get(client, "/slow?ms=0"), "a stream opened after GOAWAY fails");
      const answered = await slow;
      assert.equal(answered.status, 200);
      assert.equal(answered.body.length, 64 * 1024, "the body in full");
      assert.deepEqual(events, ["goaway", "answered"], "GOAWAY came as the drain began");
    } finally {
      client.destroy();
    }
    const { code, stdout } = await child.exited;
    assert.equal(code, 0, child.stderr);
    assert.equal(
      stdout.filter((line) => line.startsWith("slow started")).length,
      1,
      "the app never saw the stream opened after GOAWAY",
    );
    assert.ok(stdout.some((line) => line.startsWith("afterServing")), stdout.join("\n"));
  });

  test("past the grace period an HTTP/2 stream is cut, and the log names it", async () => {
    await using child = start({
      run: true,
      options: { port: 0, http2: true, gracefulTimeout: 300 },
    });
    const client = await session(await child.url());
    keepOpenOnGoaway(client);
    try {
      const slow = h2Get(client, "/slow?ms=20000");
      await child.waitFor(/^slow started/);
      child.kill("SIGTERM");
      await assert.rejects(slow, "the stream is cut, not answered");
    } finally {
      client.destroy();
    }
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr);
    assert.match(child.stderr, /Cut GET \/slow after \d+ ms: the 300 ms grace period is over/);
  });
});
