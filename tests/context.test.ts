import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, test } from "node:test";
import { App, currentApp, g } from "../mod.ts";
import { deferred } from "./helpers.ts";

describe("currentApp() and g", () => {
  test("outside every app context, both throw an error that says where they work", () => {
    const where =
      /outside an app context: use it inside a lifespan hook, a request handler or a background task/;
    assert.throws(() => currentApp(), { message: /Cannot use currentApp\(\) / });
    assert.throws(() => currentApp(), { message: where });
    assert.throws(() => g.anything, { message: /Cannot use g / });
    assert.throws(() => {
      g.anything = 1;
    }, { message: where });
  });

  test("g is shared by the whole startup phase: before hooks and generators' first half", async () => {
    const app = new App();
    const seen: unknown[] = [];
    app.beforeServing(() => {
      g.connection = "db";
    });
    app.beforeServing(async () => {
      await null;
      seen.push(g.connection);
    });
    app.whileServing(async function* () {
      seen.push(g.connection);
      assert.equal(currentApp(), app);
      yield;
      // The second half runs in the shutdown context, with a fresh g.
      seen.push(g.connection);
      assert.equal(currentApp(), app);
    });
    app.afterServing(() => void seen.push("connection" in g));
    await app.startup();
    await app.shutdown();
    assert.deepEqual(seen, ["db", "db", undefined, false]);
  });

  test("each request gets its own g, also when two run concurrently", async () => {
    const app = new App();
    const bothStarted = deferred<void>();
    let started = 0;
    app.get("/:name", async (c) => {
      g.name = c.req.param("name");
      if (++started === 2) bothStarted.resolve();
      await bothStarted.promise;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return c.text(`${g.name} ${currentApp() === app}`);
    });
    const [a, b] = await Promise.all([app.request("/a"), app.request("/b")]);
    assert.equal(await a.text(), "a true");
    assert.equal(await b.text(), "b true");
  });

  test("middleware sees its request's g after await next(), also with requests in between", async () => {
    const app = new App();
    const seen: unknown[] = [];
    app.use(async (_c, next) => {
      await next();
      seen.push(g.name);
    });
    app.get("/:name", async (c) => {
      g.name = c.req.param("name");
      await new Promise((resolve) => setTimeout(resolve, 1));
      return c.text("ok");
    });
    await Promise.all([app.request("/a"), app.request("/b")]);
    assert.deepEqual(seen.sort(), ["a", "b"]);
  });

  test("a request keeps the stores of other AsyncLocalStorages in force where it was sent", async () => {
    const app = new App();
    const other = new AsyncLocalStorage<string>();
    app.get("/", async (c) => {
      const before = other.getStore();
      await null;
      return c.json([before, other.getStore(), currentApp() === app]);
    });
    const response = await other.run("outer", () => app.request("/"));
    assert.deepEqual(await response.json(), ["outer", "outer", true]);
    assert.equal(other.getStore(), undefined);
    assert.throws(() => currentApp(), /outside an app context/);
  });

  test("a request does not see the startup phase's g", async () => {
    const app = new App();
    app.beforeServing(() => {
      g.fromStartup = true;
    });
    app.get("/", (c) => c.json("fromStartup" in g));
    await app.startup();
    assert.equal(await (await app.request("/")).json(), false);
    await app.shutdown();
  });

  test("a background task has its own g and sees the app that added it", async () => {
    const app = new App();
    const result = deferred<[unknown, boolean]>();
    app.get("/", (c) => {
      g.request = "mine";
      app.addBackgroundTask(() => {
        result.resolve([g.request, currentApp() === app]);
      });
      return c.text("ok");
    });
    await app.startup();
    await app.request("/");
    assert.deepEqual(await result.promise, [undefined, true]);
    await app.shutdown();
  });

  test("inside a mounted sub-app's route, currentApp() is the parent being served", async () => {
    const parent = new App();
    const child = new App();
    child.get("/who", (c) => c.text(currentApp() === parent ? "parent" : "other"));
    parent.route("/child", child);
    assert.equal(await (await parent.request("/child/who")).text(), "parent");
  });

  test("g supports in, delete and Object.keys", async () => {
    const app = new App();
    app.get("/", (c) => {
      g.a = 1;
      g.b = 2;
      delete g.a;
      return c.json({ keys: Object.keys(g), hasA: "a" in g, hasB: "b" in g });
    });
    assert.deepEqual(await (await app.request("/")).json(), {
      keys: ["b"],
      hasA: false,
      hasB: true,
    });
  });
});
