/**
 * The drain ends within `gracefulTimeout` + 1 s whatever the clients do (issue 12): each test
 * leaves a client in a state no graceful drain can finish, sends SIGTERM to an `app.run()` child
 * and watches it end by itself.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import process from "node:process";
import { describe, test } from "node:test";
import { CUT_TIMEOUT } from "../src/core/drain.ts";
import { Child, type Exit } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const fixture = new URL("./fixtures/drain.ts", import.meta.url).pathname;

const GRACEFUL_TIMEOUT = 300;
/**
 * How long after SIGTERM the shutdown hooks may run: the grace period, the `CUT_TIMEOUT` a cut
 * may take, and 2.5 s for the noise of a busy machine (process start-up, other suites). A
 * liveness bound, not a performance assertion: without a bounded drain these children hang
 * forever, or until a keep-alive or close-handshake timeout (30 s for Node's `ws`).
 */
const BOUND = GRACEFUL_TIMEOUT + CUT_TIMEOUT + 2500;
/** A child still running this long after SIGTERM is killed: the test fails, the suite goes on. */
const WATCHDOG = 20_000;

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function start(gracefulTimeout = GRACEFUL_TIMEOUT): Child {
  return new Child(fixture, { FIXTURE: JSON.stringify({ options: { gracefulTimeout } }) });
}

function request(path: string, headers = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
}

function upgradeRequest(path: string): string {
  return request(
    path,
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`,
  );
}

/** A raw TCP client on the child's port that sends `head`. The server may reset it: no error. */
async function rawClient(url: string, head: string): Promise<Socket> {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(head);
  return socket;
}

/** Resolves with the response head (status line and headers) once it has arrived. */
function responseHead(socket: Socket, then: (rest: Buffer) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve(received.subarray(0, end).toString("latin1"));
      then(received.subarray(end + 4));
    };
    const onClose = () => reject(new Error("closed before the response head"));
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}

/**
 * Sends SIGTERM and resolves with the child's exit and how long after the signal its shutdown
 * hooks ran. A child still running `WATCHDOG` ms after the signal is killed and the test fails.
 */
async function terminate(child: Child): Promise<{ exit: Exit; hooksAfter: number }> {
  const signalled = performance.now();
  const hooksRan = child.waitFor(/^afterServing$/).then((line) =>
    line === "" ? Infinity : performance.now() - signalled
  );
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => timer = setTimeout(resolve, WATCHDOG, "hung"));
  try {
    const exit = await Promise.race([child.exited, hung]);
    if (exit === "hung") {
      process.kill(child.pid, "SIGKILL");
      const killed = await child.exited;
      assert.fail(
        `still running ${WATCHDOG} ms after SIGTERM, killed; it printed:\n` +
          `${killed.stdout.join("\n")}\n${killed.stderr}`,
      );
    }
    return { exit, hooksAfter: await hooksRan };
  } finally {
    clearTimeout(timer);
  }
}

/** The child ended by itself (exit 0), ran its shutdown hooks once, within `BOUND`. */
function assertDrainBounded(
  what: string,
  { exit, hooksAfter }: { exit: Exit; hooksAfter: number },
) {
  assert.equal(exit.code, 0, exit.stderr);
  const count = (line: string) => exit.stdout.filter((printed) => printed === line).length;
  assert.deepEqual(
    [count("beforeServing"), count("whileServing end"), count("afterServing")],
    [1, 1, 1],
    "beforeServing, whileServing end, afterServing",
  );
  assert.ok(
    hooksAfter < BOUND,
    `the shutdown hooks ran ${Math.round(hooksAfter)} ms after SIGTERM, expected < ${BOUND}`,
  );
  console.log(
    `drain on ${runtimeName}, ${what}: SIGTERM → afterServing ${Math.round(hooksAfter)} ms`,
  );
}

/** Runs `body` with a client socket destroyed in the end, and a child killed if still running. */
async function withChild(
  body: (child: Child, sockets: Socket[]) => Promise<void>,
  gracefulTimeout?: number,
): Promise<void> {
  const child = start(gracefulTimeout);
  const sockets: Socket[] = [];
  let exited = false;
  void child.exited.then(() => exited = true);
  try {
    await body(child, sockets);
  } finally {
    for (const socket of sockets) socket.destroy();
    if (!exited) {
      process.kill(child.pid, "SIGKILL");
      await child.exited;
    }
  }
}

describe(`the drain ends within gracefulTimeout + ${CUT_TIMEOUT} ms on ${runtimeName}`, () => {
  test("a WebSocket upgrade the app never answers does not hold shutdown", {
    timeout: 30_000,
  }, async () => {
    await withChild(async (child, sockets) => {
      const url = await child.url();
      sockets.push(await rawClient(url, upgradeRequest("/upgrade-pending")));
      await child.waitFor(/^upgrade pending$/);
      assertDrainBounded("an upgrade never answered", await terminate(child));
    });
  });

  for (const path of ["/static", "/stream"]) {
    const body = path === "/static" ? "a 64 MiB byte body" : "a 64 MiB stream body";
    test(`a client that stops reading ${body} does not hold shutdown`, {
      timeout: 30_000,
    }, async () => {
      await withChild(async (child, sockets) => {
        const url = await child.url();
        const socket = await rawClient(url, request(path));
        sockets.push(socket);
        // Stops reading once the head is in: the server's writes block on full socket buffers.
        assert.match(await responseHead(socket, () => socket.pause()), /^HTTP\/1.1 200 /);
        // Deno cannot close a connection whose client stopped reading, whatever the body (see
        // RUNTIME-NOTES): there the drain lets it go after the cut and run() ends the process.
        assertDrainBounded(`a client not reading ${body}`, await terminate(child));
      });
    });
  }

  test("a large response in flight at SIGTERM is sent in full within the grace period", {
    timeout: 30_000,
  }, async () => {
    await withChild(async (child, sockets) => {
      const url = await child.url();
      const size = 16 * 2 ** 20;
      const socket = await rawClient(url, request("/static?mb=16"));
      sockets.push(socket);
      let received = 0;
      // Reads the head, then stops reading with most of the body still to come.
      await responseHead(socket, (rest) => {
        received = rest.length;
        socket.pause();
      });
      child.kill("SIGTERM");
      await child.waitFor(/^shutdown began$/);
      // The drain has begun: the rest of the body must still come, within the grace period.
      socket.on("data", (chunk: Buffer) => received += chunk.length);
      const ended = new Promise((resolve) => socket.once("close", resolve));
      socket.resume();
      await ended;
      assert.equal(received, size, "every byte of the body");
      const exit = await child.exited;
      assert.equal(exit.code, 0, exit.stderr);
    }, 10_000);
  });

  test("a WebSocket peer that never answers the close frame does not hold shutdown", {
    timeout: 30_000,
  }, async () => {
    await withChild(async (child, sockets) => {
      const url = await child.url();
      // A raw peer: it reads what the server sends and answers nothing, not even a close frame
      // (a WebSocket client library would answer that one by itself).
      const socket = await rawClient(url, upgradeRequest("/ws"));
      sockets.push(socket);
      let frames: Buffer = Buffer.alloc(0);
      const head = await responseHead(socket, (rest) => {
        frames = rest;
        socket.on("data", (chunk: Buffer) => frames = Buffer.concat([frames, chunk]));
      });
      assert.match(head, /^HTTP\/1.1 101 /);
      await child.waitFor(/^ws open$/);
      const drained = await terminate(child);
      // The server asked it to close: a close frame (0x88) with 1001 (going away).
      const close = frames.indexOf(0x88);
      assert.ok(close >= 0, "the peer got a close frame");
      assert.equal(frames.readUInt16BE(close + 2), 1001);
      assertDrainBounded("a WebSocket peer that never answers the close frame", drained);
    });
  });
});
