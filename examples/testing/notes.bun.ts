/**
 * The notes app under `bun test` (the `bun` step of `npm test` runs it):
 * `bun test ./examples/testing/notes.bun.ts`. One started app per test (`await using`), and
 * one shared by the tests of a `describe` (`beforeAll` / `afterAll`). Not type-checked here
 * (`bun:test`'s types come with `@types/bun`, which this repository does not install).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestApp } from "@lifespan/hono/testing";
import { app } from "./notes.ts";

describe("a started app per test", () => {
  test("a note posted is listed", async () => {
    await using testApp = await app.testApp();
    const client = testApp.testClient();
    const posted = await client.post("/notes", { json: { text: "buy milk" } });
    expect(posted.status).toBe(201);
    expect(await (await client.get("/notes")).json()).toEqual([{ id: 1, text: "buy milk" }]);
  });

  test("each start opens a fresh store, and shutdown closes it", async () => {
    let store;
    {
      await using testApp = await app.testApp();
      expect(await (await testApp.testClient().get("/notes")).json()).toEqual([]);
      store = app.state.notes;
      expect(store.isOpen).toBe(true);
    }
    expect(store.isOpen).toBe(false);
  });
});

describe("one started app for several tests", () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await app.testApp();
  });
  afterAll(() => testApp.shutdown());

  test("a bad body is a 400", async () => {
    const response = await testApp.testClient().post("/notes", { json: { text: "" } });
    expect(response.status).toBe(400);
  });

  test("a missing note is a 404", async () => {
    expect((await testApp.testClient().get("/notes/99")).status).toBe(404);
  });
});
