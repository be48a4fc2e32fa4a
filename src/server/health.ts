/**
 * The readiness endpoint, answered by the server before the app sees the request.
 *
 * @module
 */
import type { Handler } from "../runtimes/types.ts";

/** `handler`, with `path` answered 200 while `isServing()` and 503 otherwise. */
export function withHealth(handler: Handler, path: string, isServing: () => boolean): Handler {
  return (request, env) => {
    const { pathname } = new URL(request.url);
    if (pathname !== path) return handler(request, env);
    const serving = isServing();
    return new Response(serving ? "OK" : "Service Unavailable", {
      status: serving ? 200 : 503,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  };
}
