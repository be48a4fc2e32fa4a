/**
 * `TestWebSocket`: the test client's WebSocket, connected in-process (no socket) to an app's
 * `upgradeWebSocket` routes.
 *
 * The test client marks its upgrade request with a host whose `upgrade` accepts in memory:
 * the app's middleware, checks and handlers run as they do on a server, and the two ends of
 * the connection are this object and a `WSContext` given to the app's handlers.
 *
 * @module
 */
import type { WSContext as WSContextType, WSEvents } from "hono/ws";
import { WSContext } from "hono/ws";
import { attachWebSocketHost, closeEventClass, OpenSockets } from "../core/websocket.ts";

/** A message as the test client receives it: text, or the bytes of a binary message. */
export type TestWebSocketMessage = string | ArrayBuffer;

/** What `send()` takes: text, or bytes. */
export type TestWebSocketData = string | ArrayBuffer | ArrayBufferView;

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** The most bytes of UTF-8 a close frame's reason can carry. */
const MAX_REASON_BYTES = 123;

/** The sockets the test clients of each app have open, closed when its `TestApp` shuts down. */
const openByApp = new WeakMap<object, OpenSockets>();

/** The in-process sockets of `app`. Internal: `TestApp` closes them at shutdown. */
export function testSocketsOf(app: object): OpenSockets {
  let sockets = openByApp.get(app);
  if (sockets === undefined) openByApp.set(app, sockets = new OpenSockets());
  return sockets;
}

/** What the module does with a `TestWebSocket` that its public API does not offer. */
let internals: {
  create(url: string, protocol: string): TestWebSocket;
  /** Takes the app's handlers: the upgrade is accepted. False if it already was. */
  accept(socket: TestWebSocket, events: WSEvents<unknown>, url: string): boolean;
  /** Runs the app's `onOpen`, once the upgrade's response is out, as a server does. */
  open(socket: TestWebSocket): void;
};

/**
 * Connects to `request`'s route of `app` in-process; `send` is how the test client sends a
 * request (its cookie jar included). Internal: use `client.websocket()`.
 */
export async function connectTestWebSocket(
  app: object,
  request: Request,
  send: (request: Request) => Promise<Response>,
): Promise<TestWebSocket> {
  const protocol = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim() ?? "";
  const socket = internals.create(request.url, protocol);
  let accepted = false;
  attachWebSocketHost(request, {
    sockets: testSocketsOf(app),
    upgrade: (c, events) => {
      accepted = internals.accept(socket, events, c.req.url);
      // Any status will do: only the server's answer to an upgrade is 101, and nobody reads it.
      return accepted ? new Response(null) : undefined;
    },
  });
  const response = await send(request);
  if (!accepted) {
    await response.body?.cancel();
    const { pathname, search } = new URL(request.url);
    throw new Error(
      `Expected a WebSocket upgrade of ${pathname}${search}, got ${response.status}${
        response.statusText ? ` ${response.statusText}` : ""
      }`,
    );
  }
  internals.open(socket);
  return socket;
}

/**
 * A WebSocket connected in-process to an app, from `client.websocket(path)`. Messages the app
 * sends wait in order until read with `next()` or `for await`; `close()` resolves once the
 * app's `onClose` has finished. Binary messages arrive as `ArrayBuffer`s.
 *
 * @example Echo, then close
 * ```ts
 * import { App, upgradeWebSocket } from "@lifespan/hono";
 *
 * const app = new App();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(event.data as string) })));
 *
 * await using ws = await app.testClient().websocket("/echo");
 * ws.send("hello");
 * console.log(await ws.next()); // "hello"
 * ```
 *
 * @example Read until the app closes the socket
 * ```ts
 * import { App, upgradeWebSocket } from "@lifespan/hono";
 *
 * const app = new App();
 * app.get("/count", upgradeWebSocket(() => ({
 *   onOpen(_event, ws) {
 *     for (const n of [1, 2, 3]) ws.send(String(n));
 *     ws.close(1000, "done");
 *   },
 * })));
 *
 * const ws = await app.testClient().websocket("/count");
 * for await (const message of ws) console.log(message); // 1, 2, 3
 * console.log(ws.code, ws.reason); // 1000 "done"
 * ```
 */
export class TestWebSocket implements AsyncIterable<TestWebSocketMessage> {
  /** The URL requested, e.g. `http://localhost/chat?room=1`. */
  readonly url: string;
  /** The subprotocol the app answered with, or `""`. */
  readonly protocol: string;
  /** Settles once the connection is closed, from either side, and the app's `onClose` ran. */
  readonly closed: Promise<void>;

  #state: typeof OPEN | typeof CLOSING | typeof CLOSED = OPEN;
  #events: WSEvents<unknown> = {};
  #server!: WSContextType<unknown>;
  /** The close as this end saw it; set once, by whichever side closed first. */
  #close: { code: number; reason: string } | undefined;
  readonly #inbox: TestWebSocketMessage[] = [];
  readonly #waiting: {
    resolve: (message: TestWebSocketMessage) => void;
    reject: (error: Error) => void;
  }[] = [];
  /** What the app is sent, in order: one event at a time, as from a socket. */
  #toServer: Promise<unknown> = Promise.resolve();
  #settle!: () => void;

  static {
    internals = {
      create: (url, protocol) => new TestWebSocket(url, protocol),
      accept: (socket, events, url) => socket.#accept(events, url),
      open: (socket) => socket.#events.onOpen?.(new Event("open"), socket.#server),
    };
  }

  private constructor(url: string, protocol: string) {
    this.url = url;
    this.protocol = protocol;
    this.closed = new Promise((resolve) => this.#settle = resolve);
  }

  /** 1 while open, 2 while closing, 3 once closed, as `WebSocket.readyState`. */
  get readyState(): 1 | 2 | 3 {
    return this.#state;
  }

  /** The close code, from whichever side closed first; `undefined` while open. */
  get code(): number | undefined {
    return this.#close?.code;
  }

  /** The close reason, from whichever side closed first; `undefined` while open. */
  get reason(): string | undefined {
    return this.#close?.reason;
  }

  /**
   * Sends a message to the app's `onMessage` (which gets text as a string, bytes as an
   * `ArrayBuffer`).
   *
   * @throws {Error} Once the socket is closing or closed.
   */
  send(data: TestWebSocketData): void {
    if (this.#state !== OPEN) throw new Error(`Cannot send: the WebSocket is ${this.#describe()}`);
    const message = typeof data === "string" ? data : copyBytes(data);
    if (message === undefined) {
      throw new TypeError(`send() expects a string, an ArrayBuffer or a view of one`);
    }
    const event = new MessageEvent("message", { data: message });
    this.#deliver(() => this.#events.onMessage?.(event, this.#server));
  }

  /**
   * The next message from the app: one already received, or the next to come.
   *
   * @throws {Error} When the socket closes with no message left to read.
   */
  next(): Promise<TestWebSocketMessage> {
    const message = this.#inbox.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.#close !== undefined) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Every message from the app, in order, until the socket closes. */
  [Symbol.asyncIterator](): AsyncIterator<TestWebSocketMessage, undefined> {
    return {
      next: async (): Promise<IteratorResult<TestWebSocketMessage, undefined>> => {
        if (this.#inbox.length === 0 && this.#close !== undefined) {
          return { done: true, value: undefined };
        }
        try {
          return { done: false, value: await this.next() };
        } catch (error) {
          if (this.#close !== undefined && this.#inbox.length === 0) {
            return { done: true, value: undefined };
          }
          throw error;
        }
      },
    };
  }

  /**
   * Closes the connection with `code` and `reason`, as a client would: the app's `onClose`
   * gets them. Resolves once that handler has finished. Closing a closed socket just waits for
   * `closed`.
   *
   * @throws {RangeError} For a code a client may not send, or a reason over 123 bytes.
   */
  close(code = 1000, reason = ""): Promise<void> {
    if (!isSendableCode(code)) {
      return Promise.reject(
        new RangeError(
          `close() expects a code from 1000 to 1014 (not 1004 to 1006) or from 3000 to 4999, got ${code}`,
        ),
      );
    }
    if (new TextEncoder().encode(reason).length > MAX_REASON_BYTES) {
      return Promise.reject(
        new RangeError(`close() expects a reason of at most ${MAX_REASON_BYTES} bytes of UTF-8`),
      );
    }
    if (this.#state === OPEN) this.#closeFrom({ code, reason });
    return this.closed;
  }

  /** Closes the socket (1000) at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(events: WSEvents<unknown>, url: string): boolean {
    if (this.#server !== undefined) return false;
    this.#events = events;
    const state = () => this.#state;
    this.#server = new WSContext<unknown>({
      url,
      protocol: this.protocol,
      get readyState() {
        return state();
      },
      send: (data) => this.#receive(data),
      close: (code, reason) => {
        if (this.#state === OPEN) this.#closeFrom({ code: code ?? 1005, reason: reason ?? "" });
      },
    });
    return true;
  }

  /** A message from the app: handed to a waiting `next()`, or kept until one asks. */
  #receive(data: string | ArrayBuffer | ArrayBufferView): void {
    // A server drops what is sent on a closing socket.
    if (this.#state !== OPEN) return;
    const message = typeof data === "string" ? data : copyBytes(data);
    if (message === undefined) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter.resolve(message);
    else this.#inbox.push(message);
  }

  /** Closes from either side: this end sees the close at once, the app after what it was sent. */
  #closeFrom(close: { code: number; reason: string }): void {
    this.#state = CLOSING;
    this.#close = close;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#closedError());
    const event = new (closeEventClass())("close", { ...close, wasClean: true });
    this.#deliver(async () => {
      try {
        await this.#events.onClose?.(event, this.#server);
      } finally {
        this.#state = CLOSED;
        this.#settle();
      }
    });
  }

  /** Queues an event for the app after those before it; its errors are the wrapper's to report. */
  #deliver(task: () => unknown): void {
    this.#toServer = this.#toServer.then(task).catch(() => {});
  }

  #describe(): string {
    const close = this.#close;
    const state = this.#state === CLOSING ? "closing" : "closed";
    return close === undefined
      ? state
      : `${state} (${close.code}${close.reason === "" ? "" : ` ${close.reason}`})`;
  }

  #closedError(): Error {
    return new Error(`The WebSocket is ${this.#describe()}: no message left to read`);
  }
}

/** The codes a close frame may carry (RFC 6455, 7.4): what `ws` accepts too. */
function isSendableCode(code: number): boolean {
  return Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999));
}

/** A copy of the bytes, so neither side sees the other change them; undefined if not bytes. */
function copyBytes(data: unknown): ArrayBuffer | undefined {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) {
    const copy = new Uint8Array(data.byteLength);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return copy.buffer;
  }
  return undefined;
}
