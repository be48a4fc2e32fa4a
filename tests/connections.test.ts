/**
 * Connections as a server keeps and closes them: `keepAliveTimeout` (how long an idle
 * keep-alive connection stays open, where the runtime can set it: Node; Bun as its
 * `idleTimeout`; Deno has none to set and keeps an idle connection until its client closes
 * it), and a connection whose first request comes as the drain begins.
 */
import assert from "node:assert/strict";
import { connect as connectHttp2 } from "node:http2";
import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { after, describe, test } from "node:test";
import { App, serve } from "../mod.ts";
import { testCertificate } from "./certificate.ts";
import { runtimeName } from "./helpers.ts";

const certificate = testCertificate();
after(() => certificate[Symbol.dispose]());

const app = new App()
  .get("/", (c) => c.text("hello"))
  .get("/slow", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, Number(c.req.query("ms"))));
    return c.text("slow done");
  });

/**
 * Sends one keep-alive request on `socket` once it is open, and resolves with the ms from its
 * response to the server closing the connection.
 */
function idleUntilClosed(socket: Socket, event: "connect" | "secureConnect"): Promise<number> {
  return new Promise((resolve, reject) => {
    let answeredAt: number | undefined;
    socket.once(event, () => socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    socket.on("data", () => answeredAt ??= Date.now());
    socket.once("close", () => {
      if (answeredAt === undefined) reject(new Error("closed before the response"));
      else resolve(Date.now() - answeredAt);
    });
    socket.once("error", reject);
  });
}

/** `work`, or a rejection naming `what` if it has not settled after `ms` (a liveness bound). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("connections", () => {
  test(
    "on Node, a connection made before the drain whose first request comes after it began is answered, and asked to close",
    {
      skip: runtimeName !== "node" && "Deno's shutdown() and Bun's stop() close it unanswered",
    },
    async () => {
      let stopping!: () => void;
      const began = new Promise<void>((resolve) => stopping = resolve);
      const logger = {
        debug: () => {},
        info: (message: string) => message.startsWith("Shutting down") && stopping(),
        warn: () => {},
        error: () => {},
      };
      const server = await serve(app, { port: 0, handleSignals: false, logger });
      const socket = connect(server.port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      const stopped = server.shutdown();
      try {
        // Logged as the drain begins, which closes the idle connections before anything else
        // runs (and again every 10 ms).
        await began;
        let received = "";
        socket.setEncoding("utf8").on("data", (chunk) => received += chunk);
        const closed = new Promise<unknown>((resolve) => {
          socket.once("close", resolve);
          socket.once("error", resolve);
        });
        socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert.equal(await closed, false, "closed without an error");
        assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(received, /\r\nconnection: close\r\n/i);
      } finally {
        await stopped;
      }
    },
  );
});

describe("keepAliveTimeout", () => {
  test("on Node, an idle keep-alive connection is closed after about keepAliveTimeout", {
    skip: runtimeName !== "node" && "see the Bun and Deno tests",
  }, async () => {
    await using server = await serve(app, { port: 0, keepAliveTimeout: 200, handleSignals: false });
    const idleMs = await within(
      idleUntilClosed(connect(server.port, "127.0.0.1"), "connect"),
      10_000,
      "the idle connection closed",
    );
    // Node's own 5000 ms would take far longer.
    assert.ok(idleMs < 3000, `closed after ${idleMs} ms idle, expected about 200 (slack 2800)`);
  });

  test(
    "on Node with http2, an idle HTTP/2 session and an idle HTTP/1.1 connection are closed after about keepAliveTimeout, a slow stream is not",
    {
      skip: runtimeName !== "node" && "see the Bun and Deno tests",
    },
    async () => {
      await using server = await serve(app, {
        port: 0,
        tls: { cert: certificate.cert, key: certificate.key },
        http2: true,
        keepAliveTimeout: 300,
        handleSignals: false,
      });
      const h1 = connectTls({ port: server.port, host: "127.0.0.1", ca: certificate.cert });
      const h1IdleMs = idleUntilClosed(h1, "secureConnect");

      const client = connectHttp2(server.url, { ca: certificate.cert });
      const goaway = new Promise<number>((resolve) =>
        client.once("goaway", () => resolve(Date.now()))
      );
      // A stream whose handler sends nothing for longer than keepAliveTimeout is no idle session.
      const slow = new Promise<string>((resolve, reject) => {
        let body = "";
        const stream = client.request({ ":path": "/slow?ms=800" });
        stream.setEncoding("utf8").on("data", (chunk) => body += chunk);
        stream.on("end", () => resolve(body)).on("error", reject);
      });
      assert.equal(await slow, "slow done");
      const answeredAt = Date.now();
      const sessionIdleMs = (await within(goaway, 10_000, "GOAWAY on the idle session")) -
        answeredAt;
      client.close();
      assert.ok(
        sessionIdleMs < 3000,
        `session closed after ${sessionIdleMs} ms idle, expected about 300 (slack 2700)`,
      );
      const idleMs = await within(h1IdleMs, 10_000, "the idle HTTP/1.1 connection closed");
      assert.ok(idleMs < 3000, `closed after ${idleMs} ms idle, expected about 300 (slack 2700)`);
    },
  );

  test("on Bun, keepAliveTimeout is its idleTimeout, in whole seconds", {
    skip: runtimeName !== "bun" && "Bun only",
  }, async () => {
    await using server = await serve(app, {
      port: 0,
      keepAliveTimeout: 1000,
      handleSignals: false,
    });
    const idleMs = await within(
      idleUntilClosed(connect(server.port, "127.0.0.1"), "connect"),
      20_000,
      "the idle connection closed",
    );
    // Bun looks at its idle connections every few seconds: 1 s was seen to close after 4 s,
    // its own 10 s after 12 s.
    assert.ok(idleMs < 8000, `closed after ${idleMs} ms idle, expected 1 to 5 s (slack 3 s)`);
  });
});
