import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CookieJar } from "./cookies.ts";

describe("CookieJar", () => {
  test("sends a cookie back on the paths its Path covers", () => {
    const jar = new CookieJar();
    jar.store("session=abc; Path=/; HttpOnly");
    jar.store("admin=1; Path=/admin");
    assert.equal(jar.header("/"), "session=abc");
    assert.equal(jar.header("/admin"), "session=abc; admin=1");
    assert.equal(jar.header("/admin/users"), "session=abc; admin=1");
    assert.equal(jar.header("/administrator"), "session=abc");
  });

  test("Max-Age=0, a past Expires and a later Max-Age remove or expire a cookie", () => {
    const jar = new CookieJar();
    const now = Date.parse("2026-12-02T00:00:00Z");
    jar.store("a=1", now);
    jar.store("b=2; Max-Age=60", now);
    jar.store("c=3; Expires=Tue, 01 Dec 2026 00:00:00 GMT", now);
    assert.deepEqual(jar.values(now), { a: "1", b: "2" });
    assert.deepEqual(jar.values(now + 61_000), { a: "1" });
    jar.store("a=; Max-Age=0", now);
    assert.deepEqual(jar.values(now), {});
  });

  test("the caller's own Cookie header wins for a name it gives; the others join it", () => {
    const jar = new CookieJar();
    jar.store("session=jar");
    jar.store("theme=dark");
    assert.equal(jar.header("/", "session=mine"), "theme=dark");
    assert.equal(jar.header("/", "lang=en"), "session=jar; theme=dark");
  });

  test("ignores a header with no name", () => {
    const jar = new CookieJar();
    jar.store("=value");
    jar.store("novalue");
    assert.equal(jar.size, 0);
  });
});
