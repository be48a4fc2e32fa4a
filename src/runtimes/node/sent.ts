/**
 * What the Node runtime tells the access log (`ListenOptions.onSent`): the response classes
 * that count the body bytes written (given to the server, so that nothing is allocated per
 * request for it), and the `close` of each response, which comes once it is sent in full or
 * its connection is gone.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type IncomingMessage, ServerResponse } from "node:http";
import { type Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { SentResponse } from "../types.ts";

type Write = (this: Counted, chunk: unknown, ...rest: unknown[]) => boolean;
type End = (this: Counted, chunk?: unknown, ...rest: unknown[]) => unknown;
interface Counted {
  bodyBytes: number;
}

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === "string") {
    return Buffer.byteLength(
      chunk,
      typeof encoding === "string" ? encoding as BufferEncoding : "utf8",
    );
  }
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** Makes `Base`'s `write` and `end` count the body bytes given them, in `bodyBytes`. */
function counting<T extends { prototype: { write: unknown; end: unknown } }>(Base: T): void {
  const { write, end } = Base.prototype as unknown as { write: Write; end: End };
  Object.assign(Base.prototype, {
    write(this: Counted, chunk: unknown, ...rest: unknown[]) {
      this.bodyBytes = (this.bodyBytes ?? 0) + sizeOf(chunk, rest[0]);
      return write.call(this, chunk, ...rest);
    },
    end(this: Counted, chunk?: unknown, ...rest: unknown[]) {
      const before = this.bodyBytes ?? 0;
      const result = end.call(this, chunk, ...rest);
      // HTTP/2's `end(chunk)` writes it through `write`, which counted it; HTTP/1's does not.
      if ((this.bodyBytes ?? 0) === before && typeof chunk !== "function") {
        this.bodyBytes = before + sizeOf(chunk, rest[0]);
      }
      return result;
    },
  });
}

/** `node:http`'s response, counting its body bytes. */
export class CountedResponse<Request extends IncomingMessage = IncomingMessage>
  extends ServerResponse<Request> {
  bodyBytes = 0;
}
counting(CountedResponse);

/** `node:http2`'s compatibility response, counting its body bytes. */
export class CountedHttp2Response<Request extends Http2ServerRequest = Http2ServerRequest>
  extends Http2ServerResponse<Request> {
  bodyBytes = 0;
}
counting(CountedHttp2Response);

/** Calls `onSent` once `outgoing` is sent in full or given up on, with the body bytes written. */
export function whenSent(
  incoming: IncomingMessage | Http2ServerRequest,
  outgoing: ServerResponse | Http2ServerResponse,
  onSent: (sent: SentResponse) => void,
): void {
  const startedAt = performance.now();
  // Read now: an HTTP/2 stream's socket is gone once it closed. A unix socket's has none.
  const remote = incoming.socket?.remoteAddress ?? null;
  outgoing.once("close", () => {
    onSent({
      method: incoming.method ?? "GET",
      url: incoming.url ?? "/",
      status: outgoing.statusCode,
      bytes: (outgoing as unknown as Partial<Counted>).bodyBytes ?? null,
      startedAt,
      remote,
      protocol: incoming.httpVersionMajor === 2 ? "HTTP/2" : `HTTP/${incoming.httpVersion}`,
    });
  });
}
