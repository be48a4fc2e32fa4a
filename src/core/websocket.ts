/**
 * WebSockets: `upgradeWebSocket`, one API on Deno, Bun, Node and the test client, and the
 * registry of open sockets that shutdown closes.
 *
 * The middleware itself knows no runtime. Whoever hands a request to the app attaches a
 * `WebSocketHost` to it: an adapter to the request's env (the same object the app sees as
 * `c.env`: Deno's connection info, Bun's server, the env `@hono/node-server` builds for an
 * upgrade), the test client to the request. The host upgrades with the runtime's Hono helper
 * and owns the `OpenSockets` that its server's shutdown closes.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { type UpgradeWebSocket, WSContext, type WSEvents, type WSReadyState } from "hono/ws";
import { bindContext, peekContext } from "./context.ts";
import type { Drainable } from "./drain.ts";
import { lifespanOf } from "./lifespan.ts";
import { consoleLogger, type Logger, messageOf } from "./log.ts";

/** Options of `upgradeWebSocket()`. */
export interface UpgradeWebSocketOptions {
  /**
   * Receives what a handler (`onOpen`, `onMessage`, `onClose`, `onError`) threw or its promise
   * rejected with. The socket stays open either way.
   * @default {the app's logger (`console` unless `new App({ logger })` gave one)}
   */
  onError?: (error: unknown) => void;
}

/** How the middleware reaches a runtime: given by an adapter, or by the test client. */
export interface WebSocketHost {
  /** The open sockets of this server (or of the app under test), closed at shutdown. */
  readonly sockets: OpenSockets;
  /**
   * Answers a checked upgrade request with the runtime's Hono helper; `events` are the app's,
   * already wrapped. Nothing (or a throw) means the runtime refused the upgrade.
   */
  upgrade(c: Context, events: WSEvents<unknown>): Response | void | Promise<Response | void>;
}

const HOST: unique symbol = Symbol("WebSocketHost");

type Hosting = { [HOST]?: WebSocketHost };

/**
 * Lets `upgradeWebSocket` reach `host` from a request, or from the env the app is called with
 * (`c.env`). A symbol-keyed property rather than a map: on Deno it is set on every request's
 * connection info, and a property costs least there.
 */
export function attachWebSocketHost(target: object, host: WebSocketHost): void {
  (target as Hosting)[HOST] = host;
}

function hostOf(c: Context): WebSocketHost | undefined {
  const env: unknown = c.env;
  return (c.req.raw as Hosting)[HOST] ??
    (typeof env === "object" && env !== null ? (env as Hosting)[HOST] : undefined);
}

/** What a request must carry to be upgraded (RFC 6455, 4.2.1); undefined when it does. */
function handshakeProblem(request: Request): string | undefined {
  if (request.method !== "GET") return `expected a GET request, got ${request.method}`;
  if (!hasToken(request.headers.get("connection"), "upgrade")) {
    return "expected a Connection header with the upgrade token";
  }
  const key = request.headers.get("sec-websocket-key");
  // The key is 16 random bytes in base64: 22 characters and the padding.
  if (key === null || !/^[+/0-9A-Za-z]{22}==$/.test(key.trim())) {
    return "expected a Sec-WebSocket-Key header of 16 bytes in base64";
  }
  const version = request.headers.get("sec-websocket-version");
  if (version?.trim() !== "13") {
    return `expected Sec-WebSocket-Version 13, got ${version === null ? "none" : version}`;
  }
  return undefined;
}

function hasToken(header: string | null, token: string): boolean {
  return header !== null &&
    header.split(",").some((part) => part.trim().toLowerCase() === token);
}

function isUpgrade(c: Context): boolean {
  return c.req.header("upgrade")?.toLowerCase() === "websocket";
}

function refuse(status: 400 | 503, message: string, headers?: Record<string, string>): Response {
  return new Response(message, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** The logger of the app whose request this is. */
function loggerInContext(): Logger {
  const app = peekContext()?.app;
  return (app && lifespanOf(app)?.log) ?? consoleLogger;
}

/** Answers one upgrade request: the checks every runtime shares, then the host's helper. */
async function answer(
  c: Context,
  createEvents: () => WSEvents<unknown> | Promise<WSEvents<unknown>>,
  options: UpgradeWebSocketOptions | undefined,
): Promise<Response> {
  // Checked here, once: on their own, Node's `ws` answers 400, Deno throws (a 500) and Bun
  // falls through to the next handler.
  const problem = handshakeProblem(c.req.raw);
  if (problem !== undefined) {
    // The version the server speaks, as RFC 6455 asks of a refusal for a wrong one.
    return refuse(400, `Bad WebSocket handshake: ${problem}`, { "sec-websocket-version": "13" });
  }
  const host = hostOf(c);
  if (host === undefined) {
    throw new Error(
      "Cannot upgrade to a WebSocket: the app must be served by serve() or app.run() of " +
        "@lifespan/hono, or requested with its test client's websocket()",
    );
  }
  if (host.sockets.closing) return refuse(503, "Service Unavailable: shutting down");
  const log = loggerInContext();
  const onError = options?.onError ??
    ((error: unknown) =>
      log.error(`WebSocket handler failed: ${messageOf(error)}`, { err: error }));
  const events = trackedEvents(await createEvents(), host.sockets, onError);
  let response: Response | void = undefined;
  try {
    response = await host.upgrade(c, events);
  } catch (error) {
    log.error(`WebSocket upgrade failed: ${messageOf(error)}`, { err: error });
  }
  return response ?? refuse(400, "Bad WebSocket handshake: refused by the server");
}

/**
 * Upgrades a request to a WebSocket, with Hono's signature and the same behaviour on Deno,
 * Bun, Node and the test client (`client.websocket()`):
 *
 * - A request without `Upgrade: websocket` goes on to the next handler; a malformed handshake
 *   (not a GET, no `Connection: upgrade`, no valid `Sec-WebSocket-Key`, a version other than
 *   13) gets 400; a request while the server shuts down gets 503.
 * - Binary messages arrive as `ArrayBuffer`. Errors thrown by the handlers (or rejections of
 *   their promises) go to `options.onError`, by default the app's logger; the socket stays open.
 * - The handlers run in the app context of the upgrade request: `currentApp()` and the
 *   request's `g` work in them.
 * - Open sockets count as work in flight at shutdown: each gets a close frame with code 1001
 *   (going away), and the server waits for their `onClose` (async ones too) before it runs
 *   the shutdown hooks, for up to `gracefulTimeout`; then it drops the connections.
 *
 * The runtime-specific part (Hono's `hono/deno` and `hono/bun` helpers, and
 * `@hono/node-server` with a `ws` server on Node) is wired by `serve()`: the app has no code
 * of its own per runtime.
 *
 * @example Echo every message
 * ```ts
 * import { App, upgradeWebSocket } from "@lifespan/hono";
 *
 * const app = new App();
 * app.get(
 *   "/echo",
 *   upgradeWebSocket(() => ({
 *     onMessage(event, ws) {
 *       ws.send(`echo: ${event.data}`);
 *     },
 *   })),
 * );
 *
 * const ws = await app.testClient().websocket("/echo");
 * ws.send("hello");
 * console.log(await ws.next()); // "echo: hello"
 * await ws.close();
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<unknown, UpgradeWebSocketOptions> = ((
  ...args: unknown[]
) => {
  if (typeof args[0] === "function") {
    const createEvents = args[0] as (
      c: Context,
    ) => WSEvents<unknown> | Promise<WSEvents<unknown>>;
    const options = args[1] as UpgradeWebSocketOptions | undefined;
    const middleware: MiddlewareHandler = async (c, next) => {
      if (!isUpgrade(c)) return await next();
      return await answer(c, () => createEvents(c), options);
    };
    return middleware;
  }
  // The form used inside a handler: `return upgradeWebSocket(c, events)`.
  const [c, events, options] = args as [Context, WSEvents<unknown>, UpgradeWebSocketOptions?];
  if (!isUpgrade(c)) {
    return Promise.resolve(
      refuse(400, "Bad WebSocket handshake: expected an Upgrade: websocket header"),
    );
  }
  return answer(c, () => events, options);
}) as UpgradeWebSocket<unknown, UpgradeWebSocketOptions>;

/** The close frame shutdown sends: 1001, going away. */
const GOING_AWAY = { code: 1001, reason: "Server shutting down" } as const;

/** One open socket, as shutdown sees it. */
interface OpenSocket {
  readonly ws: WSContext<unknown>;
  /** The close frame shutdown sent: what `onClose` reports if the runtime has no code. */
  sent?: { code: number; reason: string };
}

/**
 * The open sockets of one server (or of one app under test): counted as work in flight, and
 * closed with 1001 when drained at shutdown.
 */
export class OpenSockets implements Drainable {
  readonly #open = new Set<OpenSocket>();
  readonly #terminate: ((raw: unknown) => void) | undefined;
  #closing = false;
  #emptied: (() => void) | undefined;

  /** `terminate` drops a socket's connection without a close handshake, when cut. */
  constructor(terminate?: (raw: unknown) => void) {
    this.#terminate = terminate;
  }

  /** True from the moment the drain starts: new upgrades are refused with 503. */
  get closing(): boolean {
    return this.#closing;
  }

  /** How many sockets are open. */
  get size(): number {
    return this.#open.size;
  }

  /** Counts a socket that just opened; one that opens while closing is closed at once. */
  add(socket: OpenSocket): void {
    this.#open.add(socket);
    if (this.#closing) goAway(socket);
  }

  /** Forgets a socket whose `onClose` has finished. */
  delete(socket: OpenSocket): void {
    if (this.#open.delete(socket) && this.#open.size === 0) this.#emptied?.();
  }

  /**
   * Refuses new upgrades, sends every open socket a close frame with 1001, and resolves once
   * each one's `onClose` has finished.
   */
  drain(): Promise<void> {
    this.#closing = true;
    if (this.#open.size === 0) return Promise.resolve();
    const emptied = new Promise<void>((resolve) => this.#emptied = resolve);
    for (const socket of this.#open) goAway(socket);
    return emptied;
  }

  /** Drops the connections of the sockets still open, without a close handshake. */
  cut(): void {
    for (const socket of this.#open) {
      try {
        this.#terminate?.(socket.ws.raw);
      } catch {
        // Already gone: its close event is on its way.
      }
    }
  }

  /** What is still open. */
  describe(): string {
    return `${this.#open.size} WebSocket(s) (an onClose handler that does not finish?)`;
  }

  /** The open sockets, counted. */
  open(): { websockets: number } {
    return { websockets: this.#open.size };
  }

  /** Accepts upgrades again after a drain: an app under test can start again. */
  reopen(): void {
    this.#closing = false;
  }
}

function goAway(socket: OpenSocket): void {
  if (socket.sent !== undefined) return;
  socket.sent = { ...GOING_AWAY };
  try {
    socket.ws.close(GOING_AWAY.code, GOING_AWAY.reason);
  } catch {
    // Already closing: its close event is on its way.
  }
}

let closeEvent: typeof CloseEvent | undefined;

/**
 * A `CloseEvent` class on every runtime: Node 20 has none (Hono's Node helper brings its own).
 * Looked up at first use, not at import: Node's `globalThis.CloseEvent` is a getter that loads
 * undici (measured: the largest part of `serve()`'s start on Node), which a server that never
 * closes a WebSocket does not need. Exported for the test client.
 */
export function closeEventClass(): typeof CloseEvent {
  return closeEvent ??= globalThis.CloseEvent ??
    class CloseEvent extends Event {
      readonly code: number;
      readonly reason: string;
      readonly wasClean: boolean;
      constructor(type: string, init: CloseEventInit = {}) {
        super(type, init);
        this.code = init.code ?? 0;
        this.reason = init.reason ?? "";
        this.wasClean = init.wasClean ?? false;
      }
    };
}

type MessageOf = Parameters<NonNullable<WSEvents<unknown>["onMessage"]>>[0];

/**
 * The app's `events`, wrapped for one connection: counted in `sockets` from open to the end of
 * `onClose`, run in the upgrade request's app context, errors (thrown or rejected) reported
 * instead of escaping into the runtime's event loop, where Deno and Node would crash on them.
 */
function trackedEvents(
  events: WSEvents<unknown>,
  sockets: OpenSockets,
  report: (error: unknown) => void,
): WSEvents<unknown> {
  // The context costs one AsyncLocalStorage.run per event: ~0.4 µs on Deno (about 15 % of
  // bench/websocket.ts's bare echo rate there), nothing measurable on Node and Bun. Kept, so
  // that currentApp() and g work in every handler as in every request handler.
  const run = bindContext((handler: unknown, event: Event, ws: WSContext<unknown>): unknown => {
    if (typeof handler !== "function") return undefined;
    try {
      const result: unknown = handler(event, ws);
      return result instanceof Promise ? result.catch(report) : result;
    } catch (error) {
      report(error);
      return undefined;
    }
  });
  let socket: OpenSocket | undefined;
  let stable: WSContext<unknown> | undefined;
  let latest: WSContext<unknown>;
  // One WSContext for the connection's life, whatever the runtime passes: `hono/bun` makes a
  // new one for every event (with a readyState frozen at its making), and an app that keeps
  // its sockets in a Set must find the same object in `onClose` as in `onOpen`.
  const contextOf = (ws: WSContext<unknown>): WSContext<unknown> => {
    latest = ws;
    return stable ??= new WSContext<unknown>({
      raw: ws.raw,
      url: ws.url,
      protocol: ws.protocol,
      get readyState() {
        const live: unknown = (ws.raw as { readyState?: unknown } | undefined)?.readyState;
        return typeof live === "number" ? live as WSReadyState : latest.readyState;
      },
      send: (data, options) => latest.send(data, options),
      close: (code, reason) => latest.close(code, reason),
    });
  };
  const tracked: WSEvents<unknown> = {
    onOpen: (event, ws) => {
      const context = contextOf(ws);
      run(events.onOpen, event, context);
      socket = { ws: context };
      sockets.add(socket);
    },
    onMessage: (event, ws) => run(events.onMessage, asArrayBuffer(event), contextOf(ws)),
    onClose: async (event, ws) => {
      try {
        await run(events.onClose, closeEventOf(event, socket), contextOf(ws));
      } finally {
        if (socket !== undefined) sockets.delete(socket);
      }
    },
    onError: (event, ws) => run(events.onError, event, contextOf(ws)),
  };
  return tracked;
}

/** The message with binary data as an `ArrayBuffer` of exactly its bytes, on every runtime. */
function asArrayBuffer(event: MessageOf): MessageOf {
  const { data } = event;
  if (typeof data === "string" || data instanceof ArrayBuffer || !ArrayBuffer.isView(data)) {
    return event;
  }
  const view = data as ArrayBufferView;
  const bytes = new Uint8Array(view.byteLength);
  bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return new MessageEvent("message", { data: bytes.buffer });
}

/**
 * The close as the app sees it: after shutdown sent its close frame, the code it sent, on every
 * runtime. Deno reports 1005 ("no status received") after a close the server started, and Node
 * 1006 ("abnormal") for a client that never answered and was dropped; Bun reports 1001.
 */
function closeEventOf(event: CloseEvent, socket: OpenSocket | undefined): CloseEvent {
  const sent = socket?.sent;
  if (sent === undefined || (event.code !== 1005 && event.code !== 1006)) return event;
  return new (closeEventClass())("close", { ...sent, wasClean: event.wasClean });
}
