import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatUrl, resolveOptions } from "./settings.ts";

const noEnv = () => undefined;
const resolve = (options: Record<string, unknown>, env: Record<string, string> = {}) =>
  resolveOptions((name) => env[name], options as never);

describe("serve() options of the production server", () => {
  test("unix takes the place of port and hostname, and PORT does not apply to it", () => {
    const settings = resolve({ unix: "/tmp/app.sock" }, { PORT: "not a port" });
    assert.equal(settings.unix, "/tmp/app.sock");
    assert.equal(settings.hostname, "");
    assert.equal(settings.port, 0);
  });

  test("unix with port or hostname is a TypeError naming both", () => {
    assert.throws(() => resolve({ unix: "/tmp/a.sock", port: 8000 }), {
      name: "TypeError",
      message: "unix and port cannot be given together: a unix socket has no port, got unix " +
        '"/tmp/a.sock" and port 8000',
    });
    assert.throws(() => resolve({ unix: "/tmp/a.sock", hostname: "0.0.0.0" }), {
      name: "TypeError",
      message:
        /^unix and hostname cannot be given together: .*got unix "\/tmp\/a.sock" and hostname "0.0.0.0"$/,
    });
  });

  test("http2 needs tls, and is off by default", () => {
    assert.equal(resolveOptions(noEnv, {}).http2, false);
    const tls = { cert: "cert", key: "key" };
    assert.equal(resolveOptions(noEnv, { tls, http2: true }).http2, true);
    assert.throws(() => resolve({ http2: true }), {
      name: "TypeError",
      message: /^http2 needs tls: .*got http2: true without tls$/,
    });
  });

  test("maxRequests and maxRequestsJitter: the jitter needs the limit", () => {
    const settings = resolve({ maxRequests: 1000, maxRequestsJitter: 50 });
    assert.equal(settings.maxRequests, 1000);
    assert.equal(settings.maxRequestsJitter, 50);
    assert.equal(resolve({}).maxRequestsJitter, 0);
    assert.throws(() => resolve({ maxRequestsJitter: 5 }), {
      name: "TypeError",
      message: "maxRequestsJitter needs maxRequests, got maxRequestsJitter 5 alone",
    });
  });

  test("the access log is off by default; true logs no query, { query: true } does", () => {
    assert.equal(resolve({}).accessLog, undefined);
    assert.equal(resolve({ accessLog: false }).accessLog, undefined);
    assert.deepEqual(resolve({ accessLog: true }).accessLog, { query: false });
    assert.deepEqual(resolve({ accessLog: { query: true } }).accessLog, { query: true });
    assert.deepEqual(resolve({ accessLog: {} }).accessLog, { query: false });
  });

  test("bad values of the new options are a TypeError naming the option and the value", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ unix: "" }, /^unix must be a socket path \(a non-empty string\), got ""$/],
      [{ unix: 42 }, /^unix must be a socket path \(a non-empty string\), got 42$/],
      [{ http2: "yes" }, /^http2 must be a boolean, got "yes"$/],
      [
        { keepAliveTimeout: 0 },
        /^keepAliveTimeout must be a positive number of milliseconds, got 0$/,
      ],
      [{ keepAliveTimeout: "5s" }, /^keepAliveTimeout must be a positive number .*, got "5s"$/],
      [{ keepAliveTimeout: NaN }, /^keepAliveTimeout must be a positive number .*, got NaN$/],
      [{ maxRequests: 0 }, /^maxRequests must be a positive integer, got 0$/],
      [{ maxRequests: 1.5 }, /^maxRequests must be a positive integer, got 1.5$/],
      [
        { maxRequests: 10, maxRequestsJitter: -1 },
        /^maxRequestsJitter must be a non-negative integer, got -1$/,
      ],
      [
        { accessLog: "yes" },
        /^accessLog must be a boolean or an object \(\{ query \}\), got "yes"$/,
      ],
      [{ accessLog: { query: 1 } }, /^accessLog.query must be a boolean, got 1$/],
      [{ accessLog: { format: "combined" } }, /^Unknown accessLog option "format"$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => resolve(options),
        { name: "TypeError", message },
        JSON.stringify(options),
      );
    }
  });

  test("a unix socket's URL is unix: and its path, as Hypercorn prints it", () => {
    assert.equal(formatUrl("", 0, false, "/run/app.sock"), "unix:/run/app.sock");
    assert.equal(formatUrl("::1", 8000, true), "https://[::1]:8000");
  });
});
