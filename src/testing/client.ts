/**
 * `TestClient`: requests to an app in-process, without its lifespan, as Quart's test client.
 *
 * @module
 */
import { checkKnownOptions, describeValue } from "../core/options.ts";
import { CookieJar } from "./cookies.ts";
import { connectTestWebSocket, type TestWebSocket } from "./websocket.ts";

/** Options of `app.testClient()`. */
export interface TestClientOptions {
  /**
   * Follow redirects (301, 302, 303, 307, 308) to the app itself, up to 20 in a row.
   * @default {false}
   */
  followRedirects?: boolean;
}

/** A query string: a record of values (an array repeats the key) or `URLSearchParams`. */
export type Query =
  | URLSearchParams
  | Record<string, string | number | boolean | readonly (string | number | boolean)[]>;

/** What one request carries. At most one of `json`, `form` and `body`. */
export interface TestRequestInit {
  /** Request headers. */
  headers?: HeadersInit;
  /** Appended to the path's query string. */
  query?: Query;
  /** A value sent as JSON, with `Content-Type: application/json`. */
  json?: unknown;
  /** A form: a record is sent URL-encoded, `FormData` as multipart. */
  form?: Record<string, string> | URLSearchParams | FormData;
  /** A raw body. */
  body?: BodyInit;
}

/** What `client.websocket()` takes besides the path. */
export interface TestWebSocketInit {
  /** Headers of the upgrade request (the handshake's own are added). */
  headers?: HeadersInit;
  /** Appended to the path's query string. */
  query?: Query;
  /** Subprotocols asked for, in `Sec-WebSocket-Protocol`; the first is the one answered. */
  protocols?: string | readonly string[];
}

const INIT_KEYS = ["headers", "query", "json", "form", "body"];
const WEBSOCKET_INIT_KEYS = ["headers", "query", "protocols"];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const ORIGIN = "http://localhost";

/** What a test client sends its requests to: an `App`, or any object with Hono's `fetch`. */
export interface TestTarget {
  /** Answers one request. */
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * Sends requests to an app in-process, with no socket and without running its lifespan, as
 * Quart's test client. Keeps a cookie jar of its own. Returns standard `Response`s.
 *
 * @example Request a route
 * ```ts
 * import { App } from "@lifespan/hono";
 *
 * const app = new App();
 * app.post("/echo", async (c) => c.json(await c.req.json()));
 *
 * const client = app.testClient();
 * const response = await client.post("/echo", { json: { hello: "world" } });
 * console.log(response.status, await response.json());
 * ```
 */
export class TestClient {
  readonly #app: TestTarget;
  readonly #followRedirects: boolean;
  readonly #cookies = new CookieJar();

  /** Creates a client for `app`; `app.testClient()` is the usual way. */
  constructor(app: TestTarget, options: TestClientOptions = {}) {
    checkKnownOptions("testClient()", options, ["followRedirects"]);
    const { followRedirects = false } = options;
    if (typeof followRedirects !== "boolean") {
      throw new TypeError(
        `followRedirects must be a boolean, got ${describeValue(followRedirects)}`,
      );
    }
    this.#app = app;
    this.#followRedirects = followRedirects;
  }

  /** Sends a GET request. */
  get(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("GET", path, init);
  }
  /** Sends a POST request. */
  post(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("POST", path, init);
  }
  /** Sends a PUT request. */
  put(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PUT", path, init);
  }
  /** Sends a PATCH request. */
  patch(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PATCH", path, init);
  }
  /** Sends a DELETE request. */
  delete(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("DELETE", path, init);
  }
  /** Sends a HEAD request. */
  head(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("HEAD", path, init);
  }
  /** Sends an OPTIONS request. */
  options(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("OPTIONS", path, init);
  }

  /**
   * Sends a request with any method. `path` is a path (`/items?x=1`) or an absolute URL.
   *
   * @throws {TypeError} When `init` has more than one of `json`, `form` and `body`.
   */
  request(method: string, path: string, init?: TestRequestInit): Promise<Response> {
    try {
      if (typeof method !== "string" || method === "") {
        throw new TypeError(`method must be a non-empty string, got ${describeValue(method)}`);
      }
      if (typeof path !== "string") {
        throw new TypeError(`path must be a string, got ${describeValue(path)}`);
      }
      // The common case, a path and nothing else: no URL object, no Headers, no init to read
      // (a GET needs none at all) and no promise but the one returned.
      if (init === undefined && !this.#followRedirects && isPlainPath(path)) {
        method = method.toUpperCase();
        return this.#send(new Request(ORIGIN + path, method === "GET" ? undefined : { method }));
      }
      return this.#request(method, path, init === undefined ? {} : init);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #request(method: string, path: string, init: TestRequestInit): Promise<Response> {
    checkKnownOptions("request", init, INIT_KEYS);
    const bodies = (["json", "form", "body"] as const).filter((key) => init[key] !== undefined);
    if (bodies.length > 1) {
      throw new TypeError(
        `Expected at most one of json, form and body, got ${bodies.join(" and ")}`,
      );
    }
    // A plain path needs no URL object.
    let url: string | URL;
    if (isPlainPath(path) && init.query === undefined) {
      url = ORIGIN + path;
    } else {
      url = new URL(path, ORIGIN);
      appendQuery(url, init.query);
    }
    const headers = new Headers(init.headers);
    let body: BodyInit | undefined = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    } else if (init.form !== undefined) {
      // Encoded here, with its content type: Bun's Request drops the type of a form body
      // when the headers are given as a Headers object.
      const encoded = new Response(
        init.form instanceof FormData ? init.form : new URLSearchParams(init.form),
      );
      if (!headers.has("content-type")) {
        headers.set("content-type", encoded.headers.get("content-type") ?? "");
      }
      body = await encoded.arrayBuffer();
    }
    method = method.toUpperCase();
    if (!this.#followRedirects) {
      return await this.#send(new Request(url, { method, headers, body }));
    }
    // A 307 or 308 sends the same body again: keep it as bytes (a stream reads only once).
    if (body !== undefined && typeof body !== "string" && !(body instanceof ArrayBuffer)) {
      const encoded = new Response(body);
      const type = encoded.headers.get("content-type");
      if (type !== null && !headers.has("content-type")) headers.set("content-type", type);
      body = await encoded.arrayBuffer();
    }
    for (let redirects = 0;; redirects++) {
      const response = await this.#send(new Request(url, { method, headers, body }));
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null) return response;
      if (redirects === MAX_REDIRECTS) {
        throw new Error(`Too many redirects: stopped after ${MAX_REDIRECTS}, at ${url}`);
      }
      await response.body?.cancel();
      url = new URL(location, url);
      // As fetch: a 303 turns into a GET without a body (a HEAD stays one), and so does a POST
      // answered with 301 or 302; anything else, 307 and 308 always, is sent again as it was.
      const { status } = response;
      if (
        (status === 303 && method !== "GET" && method !== "HEAD") ||
        ((status === 301 || status === 302) && method === "POST")
      ) {
        method = "GET";
        body = undefined;
        headers.delete("content-type");
        headers.delete("content-length");
      }
    }
  }

  /**
   * Sends one request: the jar's cookies join the caller's own `Cookie` header, if any. A
   * synchronous answer (Hono's for a handler that returns at once) is not awaited first.
   */
  #send(request: Request): Promise<Response> {
    // An empty jar (most tests) costs no URL parse.
    if (this.#cookies.size > 0) {
      const own = request.headers.get("cookie");
      const cookie = this.#cookies.header(new URL(request.url).pathname, own);
      if (cookie !== "") request.headers.set("cookie", own === null ? cookie : `${own}; ${cookie}`);
    }
    const response = this.#app.fetch(request);
    return response instanceof Response
      ? Promise.resolve(this.#keepCookies(response))
      : Promise.resolve(response).then(this.#keepCookies);
  }

  /** Stores the cookies `response` sets; returns it. */
  readonly #keepCookies = (response: Response): Response => {
    for (const header of response.headers.getSetCookie()) this.#cookies.store(header);
    return response;
  };

  /**
   * Opens a WebSocket to an `upgradeWebSocket` route of the app, in-process (no socket): the
   * request goes through the app's middleware like any other (cookies from the jar included),
   * then the app's `onOpen` runs and the returned socket is open.
   *
   * @throws {Error} When the app answers without upgrading (e.g. 404 or 401), naming the status.
   */
  async websocket(path: string, init: TestWebSocketInit = {}): Promise<TestWebSocket> {
    if (typeof path !== "string") {
      throw new TypeError(`path must be a string, got ${describeValue(path)}`);
    }
    checkKnownOptions("websocket", init, WEBSOCKET_INIT_KEYS);
    // A plain path needs no URL object.
    let url: string | URL = isPlainPath(path) ? ORIGIN + path : path;
    if (init.query !== undefined || typeof url === "string" && !url.startsWith(ORIGIN)) {
      url = new URL(path, ORIGIN);
      appendQuery(url, init.query);
    }
    const headers = new Headers(init.headers);
    headers.set("upgrade", "websocket");
    headers.set("connection", "Upgrade");
    headers.set("sec-websocket-version", "13");
    headers.set(
      "sec-websocket-key",
      btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))),
    );
    const { protocols } = init;
    if (protocols !== undefined) {
      headers.set(
        "sec-websocket-protocol",
        typeof protocols === "string" ? protocols : protocols.join(", "),
      );
    }
    const request = new Request(url, { headers });
    return await connectTestWebSocket(this.#app, request, (request) => this.#send(request));
  }

  /** The cookies the client holds now, by name. */
  get cookies(): Record<string, string> {
    return this.#cookies.values();
  }
}

/** Whether `path` is a path of the app's origin: `/x`, not `//host/x` nor a URL. */
function isPlainPath(path: string): boolean {
  return path.charCodeAt(0) === 47 && path.charCodeAt(1) !== 47; // "/", and no second one
}

function appendQuery(url: URL, query: Query | undefined): void {
  if (query === undefined) return;
  if (query instanceof URLSearchParams) {
    for (const [key, value] of query) url.searchParams.append(key, value);
    return;
  }
  if (typeof query !== "object" || query === null) {
    throw new TypeError(`query must be an object or URLSearchParams, got ${describeValue(query)}`);
  }
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(key, String(item));
    }
  }
}
