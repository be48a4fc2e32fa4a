/**
 * `maxRequests`: a worker counts the requests it is given, and at its limit asks its primary to
 * replace it (see `primary.ts`), as gunicorn's `max_requests` does. Installed only when the
 * option is set: without it, no wrapper is on the request path.
 *
 * @module
 */
import type { Handler } from "../runtimes/types.ts";

/**
 * One worker's limit: `maxRequests` plus a random whole number from 0 to `jitter`, drawn once
 * per worker so that workers started together are not all replaced together.
 */
export function requestLimit(
  maxRequests: number,
  jitter: number,
  random: () => number = Math.random,
): number {
  return maxRequests + Math.floor(random() * (jitter + 1));
}

/**
 * `handler`, calling `reached` once, when the `limit`th request comes. That request and every
 * later one are still answered: the worker serves on until its replacement listens.
 */
export function countingRequests(handler: Handler, limit: number, reached: () => void): Handler {
  let left = limit;
  return (request, env) => {
    // One decrement and one comparison per request; no allocation.
    if (--left === 0) reached();
    return handler(request, env);
  };
}
