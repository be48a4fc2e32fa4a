/**
 * WebSockets on Bun: Hono's `hono/bun` helper (`server.upgrade()`), whose `websocket` handler
 * `Bun.serve` must be given.
 *
 * @module
 */
import type { createBunWebSocket } from "hono/bun";
import { OpenSockets, type WebSocketHost } from "../../core/websocket.ts";

type Helper = ReturnType<typeof createBunWebSocket<unknown>>;
type Events = Helper["websocket"];

let loading: Promise<Helper> | undefined;
let helper: Helper | undefined;

/**
 * `hono/bun` reads the `Bun` global as it loads (its static-file and SSG helpers): loaded at
 * the first upgrade, so that `@lifespan/hono/bun` can be imported on another runtime too (for
 * its types, say), as before WebSockets.
 */
function load(): Promise<Helper> {
  return loading ??= import("hono/bun").then(({ createBunWebSocket }) =>
    helper = createBunWebSocket<unknown>()
  );
}

/**
 * The handler of socket events to pass to `Bun.serve` as `websocket`: Hono's, which exists by
 * the time of the first event (an upgrade comes first). One for every server: each socket
 * carries its own handlers in its `data`.
 */
export const bunWebSocketHandler: Events = {
  open: (ws) => helper!.websocket.open(ws),
  message: (ws, message) => helper!.websocket.message(ws, message),
  close: (ws, code, reason) => helper!.websocket.close(ws, code, reason),
};

/**
 * The host a Bun server attaches to itself: Hono's helper needs the server as `c.env`, which
 * `Bun.serve` gives the app as `fetch`'s second argument.
 */
export function bunWebSocketHost(): WebSocketHost {
  return {
    // hono/bun makes a new WSContext for every event: the socket itself is `raw`.
    sockets: new OpenSockets((raw) => (raw as { terminate(): void }).terminate()),
    upgrade: async (c, events) => (await load()).upgradeWebSocket(c, events),
  };
}
