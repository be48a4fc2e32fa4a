/**
 * The requests whose handler is still running on a Bun server, with when each began: to name
 * them if the drain cuts them.
 *
 * @module
 */
import type { InFlightRequest } from "../../core/drain.ts";

/** One handler still running: its request, held weakly, and its start. */
interface Running {
  readonly request: WeakRef<Request>;
  readonly method: string;
  readonly startedAt: number;
}

/**
 * Handlers still running, by a number of their own. Each holds its request only through a
 * `WeakRef`: a long-lived map holding Bun's `Request` objects themselves made a route that
 * awaits 1 ms cost ~10% more CPU per request (POST /orders through `serve()` with plain Hono,
 * requests per CPU second, server and load pinned to a core each: 72–74k with the requests in
 * the map, 77–83k this way; the bare server 88–89k). The handler, Hono's context and Bun hold
 * the request while it runs, so it can still be named then; one that nothing holds any more is
 * named by its method alone.
 */
export class RunningRequests {
  readonly #running = new Map<number, Running>();
  #last = 0;

  /** How many are running. */
  get size(): number {
    return this.#running.size;
  }

  /** Records `request` as running from now; returns what `delete()` takes. */
  add(request: Request): number {
    const key = ++this.#last;
    this.#running.set(key, {
      request: new WeakRef(request),
      method: request.method,
      startedAt: Date.now(),
    });
    return key;
  }

  /** Forgets the request `add()` returned `key` for; false if it was not running. */
  delete(key: number): boolean {
    return this.#running.delete(key);
  }

  /** The requests still running, as the drain names them. */
  named(): InFlightRequest[] {
    return [...this.#running.values()].map(({ request, method, startedAt }) => ({
      method,
      url: request.deref()?.url ?? "?",
      startedAt,
    }));
  }
}
