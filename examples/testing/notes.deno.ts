/**
 * The notes app under `deno test` (the `deno` step of `npm test` runs it):
 * `deno test -A examples/testing/notes.deno.ts`. One started app per test (`await using`),
 * and one shared by the steps of a test (`t.step`).
 */
// `@std/assert`'s `assertEquals` reads the same; node:assert needs no download.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { app } from "./notes.ts";

Deno.test("a note posted is listed", async () => {
  await using testApp = await app.testApp();
  const client = testApp.testClient();
  const posted = await client.post("/notes", { json: { text: "buy milk" } });
  assertEquals(posted.status, 201);
  assertEquals(await (await client.get("/notes")).json(), [{ id: 1, text: "buy milk" }]);
});

Deno.test("each start opens a fresh store, and shutdown closes it", async () => {
  let store;
  {
    await using testApp = await app.testApp();
    assertEquals(await (await testApp.testClient().get("/notes")).json(), []);
    store = app.state.notes;
    assertEquals(store.isOpen, true);
  }
  assertEquals(store.isOpen, false);
});

Deno.test("one started app for several steps", async (t) => {
  await using testApp = await app.testApp();
  const client = testApp.testClient();

  await t.step("a bad body is a 400", async () => {
    const response = await client.post("/notes", { json: { text: "" } });
    assertEquals(response.status, 400);
    await response.body?.cancel();
  });

  await t.step("a missing note is a 404", async () => {
    const response = await client.get("/notes/99");
    assertEquals(response.status, 404);
    await response.body?.cancel();
  });
});
