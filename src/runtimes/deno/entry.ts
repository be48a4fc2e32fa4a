/**
 * `deno serve`: an app whose requests Deno's own server gives it. Deno stops that server on
 * SIGINT and SIGTERM by itself and waits for its requests with no limit: the requests are
 * tracked here, so that the drain can bound them (as `listen.ts` does) and the shutdown hooks
 * run once they are done. Never `Deno.exit()`: with `--parallel` it would end every thread.
 *
 * @module
 */
import { attachWebSocketHost } from "../../core/websocket.ts";
import type { Entry } from "../types.ts";
import { InFlight } from "./in_flight.ts";
import { denoWebSocketHost } from "./websocket.ts";

/** Takes over the app `deno serve` serves. */
export function entry(): Entry {
  const inFlight = new InFlight();
  const websockets = denoWebSocketHost();
  return {
    handler: (handler) => (request, info) => {
      // For `upgradeWebSocket`: the app sees `info` as `c.env`.
      attachWebSocketHost(info as object, websockets);
      if (inFlight.reason !== undefined) return InFlight.cutResponse(inFlight.reason);
      return inFlight.serve(request, handler(request, info));
    },
    requests: () => ({
      drain() {
        inFlight.draining = true;
        return inFlight.idle();
      },
      cut: (reason) => inFlight.cutAll(reason),
      describe: () => `${inFlight.size} request(s)`,
      open: () => ({ requests: inFlight.requests() }),
    }),
    websockets: websockets.sockets,
    stopped: () => {},
  };
}
