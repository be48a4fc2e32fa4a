/**
 * What every adapter does for WebSockets at shutdown: close the open sockets (1001) while the
 * HTTP connections drain, both within the same grace period.
 *
 * @module
 */
import type { OpenSockets } from "../websocket.ts";
import type { Listener } from "./types.ts";

/**
 * `listener`, whose `close()` also closes `sockets`, at the same time as the HTTP drain: Node's
 * `server.close()` never finishes while an upgraded socket is open, and Bun's `stop()` waits
 * for them with no limit; Deno's `shutdown()` closes them but does not wait for an async
 * `onClose`. Either way, the app's shutdown hooks run only after every `onClose` has finished
 * or the grace period is over.
 */
export function closingWebSockets(listener: Listener, sockets: OpenSockets): Listener {
  const closeHttp = listener.close.bind(listener);
  listener.close = async (gracefulTimeout) => {
    const cut = await Promise.all([sockets.close(gracefulTimeout), closeHttp(gracefulTimeout)]);
    return cut.includes(true);
  };
  return listener;
}
