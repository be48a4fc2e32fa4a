/**
 * WebSockets on Deno: Hono's `hono/deno` helper (`Deno.upgradeWebSocket`).
 *
 * @module
 */
import type { WSEvents } from "hono/ws";
import { OpenSockets, type WebSocketHost } from "../../core/websocket.ts";

/**
 * The host a Deno server attaches to each request's connection info. Deno's `WebSocket` has no
 * way to drop a connection without the close handshake: once cut, its server's `shutdown()`
 * does.
 *
 * `hono/deno` reads the `Deno` global as it loads (its static-file helper): loaded at the first
 * upgrade, so that `@lifespan/hono/deno` can be imported on another runtime too.
 */
export function denoWebSocketHost(): WebSocketHost {
  return {
    sockets: new OpenSockets(),
    upgrade: async (c, events) =>
      (await import("hono/deno")).upgradeWebSocket(c, events as WSEvents<WebSocket>),
  };
}
