/**
 * The notes app under `node:test`: `node --import tsx --test examples/testing/notes.test.ts`.
 * One started app per test (`await using`), and one shared by the tests of a `describe`
 * (`before` / `after`; at the top level of the file, the same for the whole file).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TestApp } from "@lifespan/hono/testing";
import { app } from "./notes.ts";

// #region per-test
describe("a started app per test", () => {
  test("a note posted is listed", async () => {
    await using testApp = await app.testApp();
    const client = testApp.testClient();
    const posted = await client.post("/notes", { json: { text: "buy milk" } });
    assert.equal(posted.status, 201);
    assert.deepEqual(await (await client.get("/notes")).json(), [{ id: 1, text: "buy milk" }]);
  });

  test("each start opens a fresh store, and shutdown closes it", async () => {
    let store;
    {
      await using testApp = await app.testApp();
      assert.deepEqual(await (await testApp.testClient().get("/notes")).json(), []);
      store = app.state.notes;
      assert.equal(store.isOpen, true);
    }
    assert.equal(store.isOpen, false);
  });
});
// #endregion per-test

describe("one started app for several tests", () => {
  let testApp: TestApp;
  before(async () => {
    testApp = await app.testApp();
  });
  after(() => testApp.shutdown());

  test("a bad body is a 400", async () => {
    const response = await testApp.testClient().post("/notes", { json: { text: "" } });
    assert.equal(response.status, 400);
  });

  test("a missing note is a 404", async () => {
    assert.equal((await testApp.testClient().get("/notes/99")).status, 404);
  });
});
