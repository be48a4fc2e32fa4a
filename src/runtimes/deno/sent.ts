/**
 * What the Deno runtime tells the access log (`ListenOptions.onSent`): each response once
 * `Deno.serve` has sent it. Used only when the access log is on.
 *
 * @module
 */
import { afterServing, counted } from "../responses.ts";
import type { SentResponse } from "../types.ts";
import { hasStreamBody, staticBodyBytes } from "./_internals.ts";

/** What `Deno.serve` gives a handler besides the request (the part used here). */
interface ServeInfo {
  readonly remoteAddr: { readonly transport: string; readonly hostname?: string };
  /** Settles once the response has been sent in full, or given up on. */
  readonly completed?: Promise<void>;
}

/** What Deno's `onError` answers: a handler that threw gets this. */
export const ERROR_BODY: string = "Internal Server Error";

/**
 * `serve`, telling `onSent` of each response once Deno has sent it (`info.completed`). A body
 * that is a stream is counted as it is read; the size of another is read from the response
 * (see `_internals.ts`). Deno does not say which protocol a request came by: one with no
 * `host` header, which HTTP/1.1 requires and HTTP/2 replaces with `:authority`, is taken for
 * HTTP/2.
 */
export function watchingSent(
  serve: (request: Request, info: unknown) => Response | Promise<Response>,
  onSent: (sent: SentResponse) => void,
): (request: Request, info: unknown) => Response | Promise<Response> {
  return (request, info) => {
    const startedAt = performance.now();
    const { remoteAddr, completed } = info as ServeInfo;
    // Read now: once the response is sent, the request is closed and its headers are gone.
    const { method, url } = request;
    const protocol = request.headers.has("host") ? "HTTP/1.1" : "HTTP/2";
    const tell = (status: number, bytes: () => number | null) => {
      const done = () =>
        onSent({
          method,
          url,
          status,
          bytes: bytes(),
          startedAt,
          remote: remoteAddr.transport === "unix" ? null : remoteAddr.hostname ?? null,
          protocol,
        });
      if (completed === undefined) done();
      else completed.then(done, done);
    };
    const sent = (response: Response): Response => {
      if (!hasStreamBody(response)) {
        tell(response.status, () => staticBodyBytes(response));
        return response;
      }
      const counter = { bytes: 0 };
      tell(response.status, () => counter.bytes);
      return new Response(counted(response.body!, counter), response);
    };
    const failed = (error: unknown): never => {
      tell(500, () => ERROR_BODY.length);
      throw error;
    };
    return afterServing(serve, request, info, sent, failed);
  };
}
