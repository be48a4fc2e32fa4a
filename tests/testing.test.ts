import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, StartupError } from "../mod.ts";
import { TestApp } from "../testing.ts";

function echoApp() {
  const app = new App();
  app.all("/echo", async (c) => {
    const text = await c.req.text();
    return c.json({
      method: c.req.method,
      query: c.req.queries(),
      contentType: c.req.header("content-type") ?? null,
      custom: c.req.header("x-custom") ?? null,
      body: text,
    });
  });
  return app;
}

describe("testClient()", () => {
  test("sends every verb with its method", async () => {
    const client = echoApp().testClient();
    for (const verb of ["get", "post", "put", "patch", "delete", "options"] as const) {
      const response = await client[verb]("/echo");
      assert.equal((await response.json()).method, verb.toUpperCase());
    }
    const head = await client.head("/echo");
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const custom = await client.request("PROPFIND", "/echo");
    assert.equal((await custom.json()).method, "PROPFIND");
  });

  test("sends query and headers", async () => {
    const response = await echoApp().testClient().get("/echo?a=0", {
      query: { a: 1, list: ["x", "y"], flag: true },
      headers: { "x-custom": "yes" },
    });
    const body = await response.json();
    assert.deepEqual(body.query, { a: ["0", "1"], list: ["x", "y"], flag: ["true"] });
    assert.equal(body.custom, "yes");
  });

  test("sends json, form and raw bodies", async () => {
    const client = echoApp().testClient();
    const json = await (await client.post("/echo", { json: { a: 1 } })).json();
    assert.equal(json.contentType, "application/json");
    assert.equal(json.body, '{"a":1}');
    const form = await (await client.post("/echo", { form: { name: "Ada Lovelace" } })).json();
    assert.match(form.contentType, /^application\/x-www-form-urlencoded/);
    assert.equal(form.body, "name=Ada+Lovelace");
    const data = new FormData();
    data.set("file", new Blob(["content"]), "a.txt");
    const multipart = await (await client.post("/echo", { form: data })).json();
    assert.match(multipart.contentType, /^multipart\/form-data; boundary=/);
    const raw = await (await client.put("/echo", { body: "plain" })).json();
    assert.equal(raw.body, "plain");
  });

  test("more than one of json, form and body rejects with a TypeError", async () => {
    const client = echoApp().testClient();
    await assert.rejects(client.post("/echo", { json: {}, body: "x" }), {
      name: "TypeError",
      message: "Expected at most one of json, form and body, got json and body",
    });
    await assert.rejects(client.post("/echo", { json: 1, form: {} }), TypeError);
    await assert.rejects(client.get("/echo", { jsn: {} } as never), {
      name: "TypeError",
      message: 'Unknown request option "jsn"',
    });
  });

  test("keeps a cookie jar: sends cookies back, honours Path and Max-Age=0", async () => {
    const app = new App();
    app.get("/login", (c) => {
      c.header("set-cookie", "session=abc; Path=/; HttpOnly", { append: true });
      c.header("set-cookie", "admin=1; Path=/admin", { append: true });
      return c.text("in");
    });
    app.get("/logout", (c) => {
      c.header("set-cookie", "session=; Max-Age=0; Path=/");
      return c.text("out");
    });
    app.get("/whoami", (c) => c.text(c.req.header("cookie") ?? ""));
    app.get("/admin/whoami", (c) => c.text(c.req.header("cookie") ?? ""));

    const client = app.testClient();
    assert.equal(await (await client.get("/whoami")).text(), "");
    await client.get("/login");
    assert.equal(await (await client.get("/whoami")).text(), "session=abc");
    assert.equal(await (await client.get("/admin/whoami")).text(), "session=abc; admin=1");
    assert.deepEqual(client.cookies, { session: "abc", admin: "1" });
    await client.get("/logout");
    assert.equal(await (await client.get("/whoami")).text(), "");
    // Each client has its own jar.
    assert.equal(await (await app.testClient().get("/admin/whoami")).text(), "");
  });

  test("follows redirects only when asked to", async () => {
    const app = new App();
    app.post("/old", (c) => c.redirect("/new", 303));
    app.get("/new", (c) => c.text(`new via ${c.req.method}`));
    app.get("/loop", (c) => c.redirect("/loop"));

    const plain = await app.testClient().post("/old");
    assert.equal(plain.status, 303);
    assert.equal(plain.headers.get("location"), "/new");

    const client = app.testClient({ followRedirects: true });
    const followed = await client.post("/old");
    assert.equal(followed.status, 200);
    assert.equal(await followed.text(), "new via GET");
    await assert.rejects(client.get("/loop"), { message: /Too many redirects: stopped after 20/ });
  });

  test("a Cookie header of the caller's and the jar's cookies both reach the app", async () => {
    const app = new App();
    app.get("/login", (c) => {
      c.header("set-cookie", "session=abc; Path=/");
      return c.text("in");
    });
    app.get("/whoami", (c) => c.text(c.req.header("cookie") ?? ""));
    const client = app.testClient();
    await client.get("/login");
    const sent = await client.get("/whoami", { headers: { cookie: "theme=dark" } });
    assert.equal(await sent.text(), "theme=dark; session=abc");
    // The caller's value wins over the jar's for the same name, as it was asked for.
    const both = await client.get("/whoami", { headers: { cookie: "session=mine" } });
    assert.equal(await both.text(), "session=mine");
    assert.deepEqual(client.cookies, { session: "abc" });
  });

  for (
    const [status, expected] of [
      [301, { method: "GET", body: "" }],
      [302, { method: "GET", body: "" }],
      [303, { method: "GET", body: "" }],
      [307, { method: "POST", body: "payload" }],
      [308, { method: "POST", body: "payload" }],
    ] as const
  ) {
    const kept = expected.method === "POST" ? "resends the method and the body" : "turns into GET";
    test(`a ${status} redirect of a POST ${kept}, as fetch does; cookies follow`, async () => {
      const app = new App();
      app.post("/old", (c) => {
        c.header("set-cookie", "step=redirected; Path=/");
        return c.redirect("/new", status);
      });
      app.all("/new", async (c) =>
        c.json({
          method: c.req.method,
          body: await c.req.text(),
          contentType: c.req.header("content-type") ?? null,
          cookie: c.req.header("cookie") ?? null,
        }));
      const client = app.testClient({ followRedirects: true });
      const response = await client.post("/old", {
        body: "payload",
        headers: { "content-type": "text/plain", cookie: "mine=1" },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        ...expected,
        contentType: expected.method === "POST" ? "text/plain" : null,
        cookie: "mine=1; step=redirected",
      });
    });
  }

  test("a 301 or 302 keeps a PUT as it was, a 303 turns it into GET, as fetch does", async () => {
    const app = new App();
    app.put("/old/:status", (c) => c.redirect("/new", Number(c.req.param("status")) as 301));
    app.all("/new", async (c) => c.text(`${c.req.method} ${await c.req.text()}`));
    const client = app.testClient({ followRedirects: true });
    for (const [status, expected] of [[301, "PUT x"], [302, "PUT x"], [303, "GET "]] as const) {
      assert.equal(await (await client.put(`/old/${status}`, { body: "x" })).text(), expected);
    }
  });

  test("a 307 redirect resends a JSON or form body too", async () => {
    const app = new App();
    app.post("/old", (c) => c.redirect("/new", 307));
    app.post("/new", async (c) => c.text(await c.req.text()));
    const client = app.testClient({ followRedirects: true });
    assert.equal(await (await client.post("/old", { json: { a: 1 } })).text(), '{"a":1}');
    assert.equal(await (await client.post("/old", { form: { a: "1" } })).text(), "a=1");
  });

  test("does not run the lifespan", async () => {
    let started = false;
    const app = new App().beforeServing(() => {
      started = true;
    });
    app.get("/", (c) => c.text("ok"));
    assert.equal((await app.testClient().get("/")).status, 200);
    assert.equal(started, false);
  });

  test("bad options are a TypeError naming them", () => {
    assert.throws(() => new App().testClient({ followRedirects: "yes" } as never), {
      name: "TypeError",
      message: 'followRedirects must be a boolean, got "yes"',
    });
  });
});

describe("testApp()", () => {
  test("runs startup, serves through its client, and shuts down with await using", async () => {
    const log: string[] = [];
    const app = new App<{ State: { ready: boolean } }>();
    app.whileServing(function* () {
      app.state.ready = true;
      log.push("start");
      yield;
      log.push("end");
    });
    app.get("/ready", (c) => c.json(app.state.ready));
    {
      await using testApp = await app.testApp();
      assert.ok(testApp instanceof TestApp);
      assert.equal(testApp.app, app);
      assert.equal(await (await testApp.testClient().get("/ready")).json(), true);
      assert.deepEqual(log, ["start"]);
    }
    assert.deepEqual(log, ["start", "end"]);
  });

  test("app.signal is aborted after shutdown(), fresh for the next testApp()", async () => {
    const app = new App();
    const first = await app.testApp();
    await first.shutdown();
    assert.equal(app.signal.aborted, true);
    await using _second = await app.testApp();
    assert.equal(app.signal.aborted, false);
  });

  test("shutdown() twice shuts down once", async () => {
    let count = 0;
    const app = new App().afterServing(() => void count++);
    const testApp = await app.testApp();
    await testApp.shutdown();
    await testApp.shutdown();
    assert.equal(count, 1);
  });

  test("a hook that hangs past startupTimeout rejects with a StartupError", async () => {
    const app = new App().beforeServing(function stuck() {
      return new Promise(() => {});
    });
    const error = await app.testApp({ startupTimeout: 10 }).catch((error) => error);
    assert.ok(error instanceof StartupError);
    assert.equal(
      error.message,
      "Startup timed out after 10 ms: beforeServing hook stuck was still pending",
    );
  });

  test("a hook that hangs past shutdownTimeout rejects with a ShutdownError", async () => {
    const app = new App().afterServing(function stuck() {
      return new Promise(() => {});
    });
    const testApp = await app.testApp({ shutdownTimeout: 10 });
    await assert.rejects(testApp.shutdown(), {
      name: "ShutdownError",
      message: "Shutdown failed: afterServing hook stuck did not finish within 10 ms",
    });
  });

  test("bad options are a TypeError naming them", async () => {
    await assert.rejects(new App().testApp({ startupTimeout: "1s" } as never), {
      name: "TypeError",
      message: 'startupTimeout must be a non-negative number of milliseconds, got "1s"',
    });
    await assert.rejects(new App().testApp({ timeout: 1 } as never), {
      name: "TypeError",
      message: 'Unknown testApp() option "timeout"',
    });
  });
});
