import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const main = new URL("../examples/chat/main.ts", import.meta.url).pathname;

/** A `ws` client that collects what it receives until the server closes it. */
function join(url: string, name: string) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?name=${name}`);
  const received: string[] = [];
  const waiters: { match: RegExp; resolve: () => void }[] = [];
  ws.on("message", (data) => {
    const line = String(data);
    received.push(line);
    for (const waiter of waiters.filter(({ match }) => match.test(line))) waiter.resolve();
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    received,
    closed,
    opened,
    /** Resolves once a line matching `match` has arrived. */
    saw: (match: RegExp) =>
      received.some((line) => match.test(line))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ match, resolve })),
  };
}

describe(`examples/chat on ${runtimeName}`, () => {
  test("testApp(): messages reach everyone; shutdown says goodbye, closes with 1001, empties the room", async () => {
    const { app } = await import("../examples/chat/app.ts");
    // #region test-app
    const testApp = await app.testApp();
    const client = testApp.testClient();
    const ada = await client.websocket("/ws", { query: { name: "ada" } });
    assert.equal(await ada.next(), "* ada joined (1 here)");
    const grace = await client.websocket("/ws", { query: { name: "grace" } });
    assert.equal(await ada.next(), "* grace joined (2 here)");
    assert.equal(await grace.next(), "* grace joined (2 here)");

    grace.send("hello");
    assert.equal(await ada.next(), "grace: hello");
    assert.equal(await grace.next(), "grace: hello");
    assert.deepEqual(await (await client.get("/stats")).json(), { online: 2, relayed: 1 });

    await testApp.shutdown();
    for (const socket of [ada, grace]) {
      const rest = [];
      for await (const message of socket) rest.push(message);
      assert.equal(rest[0], "* the server is shutting down");
      assert.equal(socket.code, 1001);
    }
    // #endregion test-app
    assert.equal(app.state.room.size, 0);
  });

  test("over a real port: broadcast, then SIGTERM closes every client with 1001", async () => {
    const child = new Child(main, { PORT: "0" });
    const url = await child.url();
    const ada = join(url, "ada");
    await ada.opened;
    const grace = join(url, "grace");
    await grace.opened;
    await ada.saw(/^\* grace joined/);
    grace.ws.send("hi ada");
    await ada.saw(/^grace: hi ada$/);

    child.kill("SIGTERM");
    assert.equal(await ada.closed, 1001);
    assert.equal(await grace.closed, 1001);
    assert.ok(ada.received.includes("* the server is shutting down"), ada.received.join("\n"));
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(
      exit.stdout.includes("Chat room closed: 1 message(s) relayed"),
      exit.stdout.join("\n"),
    );
  });
});
