/**
 * How a worker that a reload replaced hands its clients over to the workers that stay, before
 * its drain: it keeps accepting, and answers every request with `Connection: close`, until no
 * request has come for a quiet moment. Only then does the drain close the listener and the
 * connections left, which are idle ones.
 *
 * Why: the drain closes idle keep-alive connections at once, and a busy keep-alive client has
 * its next request on the way on one nearly all the time: it gets a reset (measured on Node:
 * 16 failed requests in 2 reloads of 2 workers under 6 clients). A client told to close opens
 * its next connection instead, which the kernel (reusePort) or node:cluster gives to a worker
 * that stays, or to this one, which tells it to close again. Once none has come for the quiet
 * moment, no client is on its way here, and closing the listener resets nothing in its accept
 * queue (Linux resets that queue when a listener of a reusePort group closes, unless
 * `net.ipv4.tcp_migrate_req` is 1).
 *
 * @module
 */
import { closingConnection } from "../runtimes/responses.ts";
import type { Handler } from "../runtimes/types.ts";

/** No request for this many ms: no client is busy on a connection to this worker. */
export const HANDOVER_QUIET = 100;
/** The longest a handover waits for a quiet moment (a client that keeps coming, say). */
export const HANDOVER_MAX = 1000;

/** A handler that can hand its clients over: `handler` as is until `handOver()` is called. */
export interface Handover {
  readonly handler: Handler;
  /**
   * Asks every client from now on to close; resolves once quiet, within `limit` ms (and
   * `HANDOVER_MAX`, whichever is less).
   */
  handOver(limit: number): Promise<void>;
}

/** A handler that can hand its clients over: `handler` as is until `handOver()` is called. */
export function handingOver(handler: Handler): Handover {
  let handingOver = false;
  let lastRequest = 0;
  return {
    handler(request, env) {
      if (!handingOver) return handler(request, env);
      lastRequest = Date.now();
      const response = handler(request, env);
      return response instanceof Promise
        ? response.then(closingConnection)
        : closingConnection(response);
    },
    handOver(limit) {
      const max = Math.min(HANDOVER_MAX, limit);
      handingOver = true;
      const began = lastRequest = Date.now();
      return new Promise((resolve) => {
        const check = () => {
          const now = Date.now();
          const quietFor = now - lastRequest;
          if (quietFor >= HANDOVER_QUIET || now - began >= max) return resolve();
          setTimeout(check, Math.min(HANDOVER_QUIET - quietFor, max - (now - began)));
        };
        check();
      });
    },
  };
}
