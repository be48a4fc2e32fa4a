import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect as connectTcp } from "node:net";
import { describe, test } from "node:test";
import type { WSContext } from "hono/ws";
import WebSocket from "ws";
import {
  App,
  currentApp,
  type Fetchable,
  g,
  serve,
  type Server,
  upgradeWebSocket,
} from "../mod.ts";
import { Child } from "./child.ts";
import { captureConsole, deferred, runtimeName, within } from "./helpers.ts";

const fixture = new URL("./fixtures/websocket.ts", import.meta.url).pathname;

/** A message as the `ws` client got it: text, or the bytes of a binary message. */
type Received = string | number[];

/** A real WebSocket client (the `ws` package: the same on Node 20, Deno and Bun). */
interface Peer {
  send(data: string | Uint8Array): void;
  /** The next message, in order. */
  next(): Promise<Received>;
  /** Resolves with the close code and reason the server sent (or 1006 if none). */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

function wsUrl(server: { url: string } | string, path: string): string {
  const base = typeof server === "string" ? server : server.url;
  return `${base.replace(/^http/, "ws")}${path}`;
}

async function openPeer(url: string): Promise<Peer> {
  const ws = new WebSocket(url);
  const inbox: Received[] = [];
  const waiting: ((message: Received) => void)[] = [];
  ws.on("message", (data, isBinary) => {
    const message = isBinary ? [...new Uint8Array(data as Buffer)] : String(data);
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    send: (data) => ws.send(data),
    next: () => {
      const message = inbox.shift();
      if (message !== undefined) return Promise.resolve(message);
      return new Promise((resolve) => waiting.push(resolve));
    },
    closed,
    close: () => ws.close(),
  };
}

/** Sends a raw HTTP request head and resolves with the response's status line. */
function rawStatus(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1", () => socket.write(head));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const end = received.indexOf("\r\n");
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received || "closed without an answer"));
  });
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** Upgrade requests that are not a valid handshake, each with what makes it invalid. */
const MALFORMED: [string, string][] = [
  [
    "no Sec-WebSocket-Key",
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13",
  ],
  [
    "a Sec-WebSocket-Key that is not 16 bytes",
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13",
  ],
  [
    "Sec-WebSocket-Version 8",
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 8`,
  ],
  [
    "no Connection: upgrade",
    `Upgrade: websocket\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13`,
  ],
];

function head(path: string, headers: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n\r\n`;
}

/** An app with an echo route, served on a free port for the length of `body`. */
async function withServer(app: Fetchable, body: (server: Server) => Promise<void>): Promise<void> {
  const server = await serve(app, { port: 0, handleSignals: false });
  try {
    await body(server);
  } finally {
    await server.shutdown();
  }
}

function echoApp(): App {
  const app = new App();
  app.get("/", (c) => c.text("hello"));
  app.get(
    "/echo",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        // Binary messages arrive as ArrayBuffer, whatever the runtime hands over: said back.
        const { data } = event;
        if (typeof data === "string" || data instanceof ArrayBuffer) ws.send(data);
        else ws.send(`not an ArrayBuffer: ${Object.prototype.toString.call(data)}`);
      },
    })),
  );
  return app;
}

/** The lines the fixture printed about its lifespan and its sockets, in order. */
function events(lines: string[]): string[] {
  return lines.filter((line) =>
    /^(beforeServing|whileServing|afterServing|finished|chat closed|events ended)/.test(line)
  );
}

describe(`upgradeWebSocket() over a real socket on ${runtimeName}`, () => {
  test("echoes text and binary messages", async () => {
    await withServer(echoApp(), async (server) => {
      const peer = await openPeer(wsUrl(server, "/echo"));
      peer.send("hello");
      peer.send(new Uint8Array([0, 1, 2, 255]));
      assert.equal(await peer.next(), "hello");
      assert.deepEqual(await peer.next(), [0, 1, 2, 255]);
      peer.close();
      assert.equal((await peer.closed).code, 1005);
    });
  });

  test("broadcasts to several clients; onOpen and onClose get the same ws object", async () => {
    const app = new App<{ State: { room: Set<WSContext> } }>();
    const left = deferred<number>();
    app.beforeServing(() => {
      app.state.room = new Set();
    });
    app.get(
      "/room",
      upgradeWebSocket(() => ({
        onOpen: (_event, ws) => void app.state.room.add(ws),
        onMessage(event) {
          for (const member of app.state.room) member.send(event.data as string);
        },
        onClose(_event, ws) {
          app.state.room.delete(ws);
          left.resolve(app.state.room.size);
        },
      })),
    );
    await withServer(app, async (server) => {
      const peers = [];
      for (let i = 0; i < 3; i++) peers.push(await openPeer(wsUrl(server, "/room")));
      peers[0]!.send("hi all");
      for (const peer of peers) assert.equal(await peer.next(), "hi all");
      peers[2]!.close();
      assert.equal(await left.promise, 2);
    });
  });

  test("a malformed upgrade gets 400 and the server keeps serving", async () => {
    await withServer(echoApp(), async (server) => {
      for (const [problem, headers] of MALFORMED) {
        assert.equal(
          await rawStatus(server.port, head("/echo", headers)),
          "HTTP/1.1 400 Bad Request",
          problem,
        );
      }
      const valid =
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13`;
      assert.equal(await rawStatus(server.port, head("/nowhere", valid)), "HTTP/1.1 404 Not Found");
      // Another protocol's upgrade (`curl --http2` asks for h2c) is answered as plain HTTP.
      const h2c =
        "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__";
      assert.equal(await rawStatus(server.port, head("/", h2c)), "HTTP/1.1 200 OK");
      assert.equal(await (await fetch(server.url)).text(), "hello");
      const peer = await openPeer(wsUrl(server, "/echo"));
      peer.send("still here");
      assert.equal(await peer.next(), "still here");
      peer.close();
    });
  });

  test("server.shutdown() closes open sockets with 1001 and awaits onClose before afterServing", async () => {
    const log: string[] = [];
    const app = new App();
    app.afterServing(() => void log.push("afterServing"));
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        async onClose(event) {
          await null;
          log.push(`onClose ${event.code} ${event.reason}`);
        },
      })),
    );
    const server = await serve(app, { port: 0, handleSignals: false });
    const peers = [await openPeer(wsUrl(server, "/ws")), await openPeer(wsUrl(server, "/ws"))];
    await server.shutdown();
    for (const peer of peers) {
      assert.deepEqual(await peer.closed, { code: 1001, reason: "Server shutting down" });
    }
    assert.deepEqual(log, [
      "onClose 1001 Server shutting down",
      "onClose 1001 Server shutting down",
      "afterServing",
    ]);
  });

  test("a client that never answers the close frame is dropped after gracefulTimeout", {
    timeout: 30_000,
  }, async () => {
    using console = captureConsole();
    const closes: number[] = [];
    const app = new App();
    app.get("/ws", upgradeWebSocket(() => ({ onClose: (event) => void closes.push(event.code) })));
    const server = await serve(app, { port: 0, handleSignals: false, gracefulTimeout: 100 });
    // A raw client: it completes the handshake, then reads nothing and answers nothing.
    const socket = connectTcp(server.port, "127.0.0.1");
    socket.on("error", () => {});
    const upgraded = new Promise<string>((resolve) =>
      socket.once("data", (data) => resolve(String(data)))
    );
    socket.write(
      head(
        "/ws",
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13`,
      ),
    );
    assert.match(await upgraded, /^HTTP\/1.1 101 /);
    socket.pause();
    const dropped = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    try {
      // The grace period of 100 ms, then the cut: 2 s is slack enough on a loaded machine.
      await within(server.shutdown(), 2_000, () => "shutdown waited on the silent client for 2 s");
      socket.resume(); // to read what is left, up to the end the server gave the connection
      await within(dropped, 2_000, () => "the server kept the connection of the silent client");
    } finally {
      socket.destroy();
    }
    assert.deepEqual(closes, [1001]);
    // Node waits for the client's close frame until the cut, and says so. Deno and Bun take a
    // socket for closed once they sent their close frame: there is nothing to cut.
    if (runtimeName === "node") {
      assert.deepEqual(console.warnings, [[
        "Closed 1 WebSocket whose close did not finish in time: the 100 ms grace period is over",
      ]]);
    }
  });

  test("handlers run in the upgrade request's app context; their errors go to onError", async () => {
    const errors: unknown[] = [];
    const app = new App();
    app.use(async (_c, next) => {
      g.user = "ada";
      await next();
    });
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onMessage(event, ws) {
          if (event.data === "throw") throw new Error("handler broke");
          if (event.data === "reject") return Promise.reject(new Error("async handler broke"));
          ws.send(`${g.user} ${currentApp() === app}`);
        },
      }), { onError: (error) => void errors.push(error) }),
    );
    await withServer(app, async (server) => {
      const peer = await openPeer(wsUrl(server, "/ws"));
      peer.send("throw");
      peer.send("reject");
      peer.send("who");
      assert.equal(await peer.next(), "ada true");
      assert.deepEqual(errors.map((error) => (error as Error).message), [
        "handler broke",
        "async handler broke",
      ]);
      peer.close();
    });
  });
});

describe(`WebSocket handler errors on ${runtimeName}`, () => {
  test("go to the app's logger when no onError is given, and the socket stays open", async () => {
    const logged: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message: string) => void logged.push(message),
    };
    const app = new App({ logger });
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onMessage(event, ws) {
          if (event.data === "throw") throw new Error("handler broke");
          ws.send(`still open after ${logged.length}`);
        },
      })),
    );
    await withServer(app, async (server) => {
      const peer = await openPeer(wsUrl(server, "/ws"));
      peer.send("throw");
      peer.send("again");
      assert.equal(await peer.next(), "still open after 1");
      assert.deepEqual(logged, ["WebSocket handler failed: handler broke"]);
      peer.close();
    });
  });
});

describe(`WebSockets in a child process on ${runtimeName}`, () => {
  test("SIGTERM sends 1001 to every client and runs each onClose, then the hooks once", async () => {
    const child = new Child(fixture);
    const url = await child.url();
    const peers = [];
    for (let i = 0; i < 3; i++) peers.push(await openPeer(wsUrl(url, "/chat")));
    await child.waitFor(/^chat open 3$/);
    child.kill("SIGTERM");
    for (const peer of peers) {
      assert.deepEqual(await peer.closed, { code: 1001, reason: "Server shutting down" });
    }
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(events(exit.stdout), [
      "beforeServing",
      "whileServing start",
      "chat closed 1001",
      "chat closed 1001",
      "chat closed 1001",
      "whileServing end, 0 in chat",
      "afterServing",
      "finished",
    ]);
  });

  test("an onClose that never finishes holds shutdown only for gracefulTimeout", {
    timeout: 30_000,
  }, async () => {
    const child = new Child(fixture, {
      FIXTURE: JSON.stringify({ options: { gracefulTimeout: 100 } }),
    });
    const url = await child.url();
    const peer = await openPeer(wsUrl(url, "/stuck"));
    await child.waitFor(/^stuck open$/);
    child.kill("SIGTERM");
    assert.equal((await peer.closed).code, 1001);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stderr, /Still open 1000 ms after the 100 ms grace period: 1 WebSocket\(s\)/);
    assert.deepEqual(events(exit.stdout), [
      "beforeServing",
      "whileServing start",
      "whileServing end, 0 in chat",
      "afterServing",
      "finished",
    ]);
  });

  test("an event stream that watches app.signal ends at SIGTERM; the hooks run once", async () => {
    const child = new Child(fixture);
    const url = await child.url();
    const stream = await new Promise<{ first: string; rest: Promise<string> }>(
      (resolve, reject) => {
        httpRequest(`${url}/events`, { agent: false }, (response) => {
          let body = "";
          const rest = new Promise<string>((resolveRest, rejectRest) => {
            response.on("end", () => resolveRest(body));
            response.on("error", rejectRest);
          });
          response.setEncoding("utf8");
          response.once("data", (first: string) => {
            response.on("data", (chunk: string) => body += chunk);
            resolve({ first, rest });
          });
        }).on("error", reject).end();
      },
    );
    assert.match(stream.first, /^data: tick\nid: 0\n\n/);
    child.kill("SIGTERM");
    // The stream ends as complete (no cut connection), with the app's last event.
    assert.match(await stream.rest, /event: bye\ndata: shutting down\n\n$/);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(events(exit.stdout), [
      "beforeServing",
      "whileServing start",
      "events ended",
      "whileServing end, 0 in chat",
      "afterServing",
      "finished",
    ]);
  });
});

describe(`client.websocket() in-process on ${runtimeName}`, () => {
  test("echoes text and bytes with app.testClient(), no lifespan", async () => {
    const client = echoApp().testClient();
    const ws = await client.websocket("/echo");
    ws.send("hello");
    ws.send(new Uint8Array([1, 2, 3]));
    assert.equal(await ws.next(), "hello");
    assert.deepEqual([...new Uint8Array(await ws.next() as ArrayBuffer)], [1, 2, 3]);
    await ws.close(4000, "done");
    assert.equal(ws.code, 4000);
    assert.equal(ws.reason, "done");
    assert.equal(ws.readyState, 3);
  });

  test("websocket() resolves once the app's onOpen ran", async () => {
    const log: string[] = [];
    const app = new App();
    app.get("/ws", upgradeWebSocket(() => ({ onOpen: () => void log.push("onOpen") })));
    const ws = await app.testClient().websocket("/ws");
    assert.deepEqual(log, ["onOpen"]);
    await ws.close();
  });

  test("under testApp(), shutdown closes sockets with 1001 and awaits onClose before afterServing", async () => {
    const log: string[] = [];
    const app = new App<{ State: { greeting: string } }>();
    app.beforeServing(() => {
      app.state.greeting = "welcome";
    });
    app.afterServing(() => void log.push("afterServing"));
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onOpen: (_event, ws) => ws.send(app.state.greeting),
        async onClose(event) {
          await null;
          log.push(`onClose ${event.code}`);
        },
      })),
    );
    const testApp = await app.testApp();
    const ws = await testApp.testClient().websocket("/ws");
    assert.equal(await ws.next(), "welcome");
    await testApp.shutdown();
    assert.equal(ws.code, 1001);
    assert.equal(ws.reason, "Server shutting down");
    assert.deepEqual(log, ["onClose 1001", "afterServing"]);
    await assert.rejects(ws.next(), /closed \(1001 Server shutting down\)/);
  });

  test("for await reads every message until the app closes the socket", async () => {
    const app = new App();
    app.get(
      "/count",
      upgradeWebSocket(() => ({
        onOpen(_event, ws) {
          for (const n of [1, 2, 3]) ws.send(String(n));
          ws.close(1000, "counted");
        },
      })),
    );
    const ws = await app.testClient().websocket("/count", { query: { to: 3 } });
    const messages = [];
    for await (const message of ws) messages.push(message);
    assert.deepEqual(messages, ["1", "2", "3"]);
    assert.deepEqual([ws.code, ws.reason], [1000, "counted"]);
    assert.throws(() => ws.send("late"), /Cannot send: the WebSocket is closed \(1000 counted\)/);
  });

  test("the upgrade request goes through middleware, with cookies, query and protocols", async () => {
    const app = new App();
    app.get("/login", (c) => c.text("in", 200, { "set-cookie": "session=abc; Path=/" }));
    app.get(
      "/ws",
      async (c, next) => {
        if (!c.req.header("cookie")?.includes("session=abc")) return c.text("no session", 401);
        await next();
      },
      upgradeWebSocket((c) => ({
        onOpen: (_event, ws) => ws.send(`${c.req.query("room")} ${ws.protocol}`),
      })),
    );
    const client = app.testClient();
    await assert.rejects(client.websocket("/ws"), {
      message: /^Expected a WebSocket upgrade of \/ws, got 401/,
    });
    await client.get("/login");
    const ws = await client.websocket("/ws", { query: { room: "7" }, protocols: ["chat", "v2"] });
    assert.equal(await ws.next(), "7 chat");
    assert.equal(ws.protocol, "chat");
    await ws.close();
  });

  test("the form used inside a handler, upgradeWebSocket(c, events), works the same", async () => {
    const app = new App();
    app.get("/direct", (c) => {
      if (c.req.query("token") !== "t") return c.text("forbidden", 403);
      return upgradeWebSocket(c, { onMessage: (event, ws) => ws.send(`got ${event.data}`) });
    });
    const client = app.testClient();
    await assert.rejects(client.websocket("/direct"), /got 403/);
    const ws = await client.websocket("/direct", { query: { token: "t" } });
    ws.send("x");
    assert.equal(await ws.next(), "got x");
    await ws.close();
    assert.equal((await client.get("/direct?token=t")).status, 400);
  });

  test("a malformed handshake gets 400 in-process too; a plain GET goes to the next handler", async () => {
    const app = echoApp();
    app.get("/echo", (c) => c.text("not a websocket"));
    const client = app.testClient();
    const response = await client.get("/echo", {
      headers: { upgrade: "websocket", connection: "upgrade", "sec-websocket-version": "13" },
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /Sec-WebSocket-Key/);
    assert.equal(await (await client.get("/echo")).text(), "not a websocket");
  });

  test("upgrades are refused with 503 while the app shuts down", async () => {
    const release = deferred<void>();
    const closing = deferred<void>();
    const app = new App();
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onClose: () => {
          closing.resolve();
          return release.promise;
        },
      })),
    );
    const testApp = await app.testApp();
    const client = testApp.testClient();
    await client.websocket("/ws");
    const stopped = testApp.shutdown();
    await closing.promise;
    await assert.rejects(client.websocket("/ws"), /got 503/);
    release.resolve();
    await stopped;
  });

  test("close() checks the code and the reason like a WebSocket client", async () => {
    const ws = await echoApp().testClient().websocket("/echo");
    await assert.rejects(ws.close(1005), { name: "RangeError" });
    await assert.rejects(ws.close(1000, "x".repeat(124)), { name: "RangeError" });
    await ws.close(1001, "going");
    assert.deepEqual([ws.code, ws.reason], [1001, "going"]);
  });
});
