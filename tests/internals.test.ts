/**
 * The private internals each runtime relies on (see `src/runtimes/<runtime>/_internals.ts`),
 * and those of Hono that `App` relies on (`src/core/_hono_internals.ts`), named: a runtime or
 * dependency upgrade that breaks one fails here, by name, rather than silently through the
 * fallback taken in production.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runtimeName } from "./helpers.ts";

describe(`the private internals ${runtimeName} relies on`, () => {
  test("every one still holds", {
    skip: runtimeName === "bun" ? "Bun's runtime relies on no private internal" : false,
  }, async () => {
    const { internals } = runtimeName === "node"
      ? await import("../src/runtimes/node/_internals.ts")
      : await import("../src/runtimes/deno/_internals.ts");
    for (const [name, holds] of Object.entries(internals)) {
      assert.equal(holds, true, `${name} no longer holds on ${runtimeName}`);
    }
  });

  test("they are the ones named here (a new one is named in this test too)", {
    skip: runtimeName === "bun" ? "Bun's runtime relies on no private internal" : false,
  }, async () => {
    const { internals } = runtimeName === "node"
      ? await import("../src/runtimes/node/_internals.ts")
      : await import("../src/runtimes/deno/_internals.ts");
    const named = runtimeName === "node" ? ["socket._httpMessage"] : [
      // Which bodies are streams (the drain, the access log).
      "Response[Symbol(response)].body.streamOrStatic",
      // The size of the others, for the access log's `bytes`.
      "Response[Symbol(serve fast body)], [Symbol(lazy static body)]",
      // The app context in a frame of its own, cheaper than AsyncLocalStorage.run().
      "Deno[Deno.internal].core.getAsyncContext/setAsyncContext",
    ];
    assert.deepEqual(Object.keys(internals), named);
  });

  test("@hono/node-server wires its WebSocket upgrades to one upgrade listener", {
    skip: runtimeName === "node" ? false : "Node only",
  }, async () => {
    const { createAdaptorServer } = await import("@hono/node-server");
    const { WebSocketServer } = await import("ws");
    const { honoUpgradeTarget } = await import("../src/runtimes/node/_internals.ts");
    const server = createAdaptorServer({
      fetch: () => new Response(null),
      websocket: { server: new WebSocketServer({ noServer: true }) },
    });
    assert.equal(honoUpgradeTarget(server as never), server);
    server.close();
  });
});

describe("the private internals of Hono that App relies on", () => {
  test("every one still holds", async () => {
    const { honoInternals } = await import("../src/core/_hono_internals.ts");
    for (const [name, holds] of Object.entries(honoInternals)) {
      assert.equal(holds, true, `${name} no longer holds with this Hono`);
    }
  });
});
