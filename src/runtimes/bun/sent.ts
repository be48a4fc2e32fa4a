/**
 * What the Bun runtime tells the access log (`ListenOptions.onSent`): each response once Bun
 * has read its body to the end. Used only when the access log is on.
 *
 * @module
 */
import { afterServing, counted } from "../responses.ts";
import type { Handler, SentResponse } from "../types.ts";

/** The part of Bun's server that a handler gets as its second argument, used here. */
interface BunServer {
  requestIP(request: Request): { address: string } | null;
}

/** What Bun's `error` answers: a handler that threw gets this. */
export const ERROR_BODY: string = "Internal Server Error";

/**
 * `serve`, telling `onSent` of each response. Bun has no event for a response sent: its body
 * is read through a counting stream, and the response is taken for sent once that stream has
 * been read to its end (or cancelled: the client went away). A response with no body is told
 * of once handed to Bun. So is one without a `content-type` header, as it is: reading its
 * body would lose the type Bun gives a string body itself, so its `bytes` is null. Bun does
 * not say which protocol a request came by: with `http2`, `protocol` is null.
 */
export function watchingSent(
  serve: Handler,
  onSent: (sent: SentResponse) => void,
  http2: boolean,
): Handler {
  const protocol = http2 ? null : "HTTP/1.1";
  return (request, env) => {
    const startedAt = performance.now();
    // null on a unix socket.
    const remote = (env as BunServer).requestIP(request)?.address ?? null;
    const tell = (status: number, bytes: number | null) =>
      onSent({
        method: request.method,
        url: request.url,
        status,
        bytes,
        startedAt,
        remote,
        protocol,
      });
    const sent = (response: Response): Response => {
      // An upgraded request (a WebSocket) has no response of its own.
      if (!(response instanceof Response)) {
        tell(101, 0);
        return response;
      }
      if (!response.headers.has("content-type")) {
        tell(response.status, null);
        return response;
      }
      const { body } = response;
      if (body === null) {
        tell(response.status, 0);
        return response;
      }
      const counter = { bytes: 0, ended: () => tell(response.status, counter.bytes) };
      return new Response(counted(body, counter), response);
    };
    const failed = (error: unknown): never => {
      tell(500, ERROR_BODY.length);
      throw error;
    };
    return afterServing(serve, request, env, sent, failed);
  };
}
