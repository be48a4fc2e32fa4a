/**
 * `bun run app.ts` with `export default app`: an app whose requests Bun's own server gives it,
 * with that server as their second argument. The server is kept from the first request on, so
 * that the drain can stop it as `listen.ts` stops its own.
 *
 * @module
 */
import process from "node:process";
import { attachWebSocketHost } from "../../core/websocket.ts";
import type { Entry } from "../types.ts";
import { RunningRequests } from "./in_flight.ts";
import { bunWebSocketHost } from "./websocket.ts";

/** The part of Bun's server used here. */
interface BunServer {
  stop(closeActiveConnections?: boolean): Promise<void>;
  unref(): void;
}

/** Takes over the app Bun serves; `exitWhenDone` is the runtime's. */
export function entry(exitWhenDone: (code: number) => void): Entry {
  let server: BunServer | undefined;
  const websockets = bunWebSocketHost();
  /** The handlers still running, with when each began. */
  const running = new RunningRequests();
  let idle: (() => void) | undefined;
  const done = (key: number) => {
    if (running.delete(key) && running.size === 0) idle?.();
  };
  let cutStop!: (stopped: Promise<void>) => void;
  const cutStopped = new Promise<void>((resolve) => cutStop = resolve);
  return {
    handler: (handler) => (request, env) => {
      if (server === undefined) {
        server = env as BunServer;
        // The app sees the server as `c.env`, where Hono's helper and `upgradeWebSocket` look.
        attachWebSocketHost(server, websockets);
      }
      const key = running.add(request);
      try {
        const result = handler(request, env);
        if (!(result instanceof Promise)) return done(key), result;
        return result.finally(() => done(key));
      } catch (error) {
        done(key);
        throw error;
      }
    },
    requests: (keepServer) => ({
      drain() {
        const finished = running.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => idle = resolve);
        // As `listen.ts`: stop(false) stops accepting, closes idle connections, and settles once
        // the requests (streamed bodies too) are done.
        if (keepServer || server === undefined) return finished;
        return Promise.race([server.stop(false).then(() => finished), cutStopped]);
      },
      cut() {
        if (!keepServer && server !== undefined) cutStop(server.stop(true));
      },
      abandon: () => server?.unref(),
      describe: () => `${running.size} request(s)`,
      open: () => ({ requests: running.named() }),
    }),
    websockets: websockets.sockets,
    stopped(exitCode) {
      // A server never seen (no request came) keeps the process alive.
      if (server === undefined) process.exit(exitCode);
      exitWhenDone(exitCode);
    },
  };
}
