/**
 * The notes app through Hono's typed clients, against a started app: `hc<NotesRoutes>` with
 * the app's own `request` as its `fetch`, and `testClient` from `hono/testing`. The response
 * types come from the routes: `tsc` (the `tsc` step of `npm test`) checks that they flow.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hc } from "hono/client";
import { testClient } from "hono/testing";
import { app, type NotesRoutes, routes } from "./notes.ts";

// #region hc
test("hc<NotesRoutes>, fetching through the started app", async () => {
  await using testApp = await app.testApp();
  const client = hc<NotesRoutes>("http://notes.test", { fetch: testApp.app.request });

  const posted = await client.notes.$post({ json: { text: "buy milk" } });
  // Narrowed by its status, the body is typed from the route: `{ id: number; text: string }`.
  if (posted.status !== 201) assert.fail(`expected 201, got ${posted.status}`);
  const { id }: { id: number } = await posted.json();

  const fetched = await client.notes[":id"].$get({ param: { id: String(id) } });
  if (fetched.status === 404) assert.fail("the note posted was not found");
  const same = await fetched.json();
  assert.equal(same.text, "buy milk");
  // @ts-expect-error: a note has no `title`; without the routes' types this would compile.
  assert.equal(same.title, undefined);
});
// #endregion hc

test("testClient(routes) from hono/testing, against the started app", async () => {
  await using _testApp = await app.testApp();
  const client = testClient(routes);
  const listed = await client.notes.$get();
  const notes: { id: number; text: string }[] = await listed.json();
  assert.deepEqual(notes, []);
  const missing = await client.notes[":id"].$get({ param: { id: "7" } });
  assert.equal(missing.status, 404);
});
