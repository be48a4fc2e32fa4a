/**
 * What a server may change on a response it sends, on any runtime.
 *
 * @module
 */

/**
 * `response`, asking the client to close the connection after it (a drain, a handover); a copy
 * when its headers are immutable. A protocol switch (101) is left as it is.
 */
export function closingConnection(response: Response): Response {
  if (response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

/**
 * `body`, read through a stream that adds the bytes of each chunk to `counter.bytes` (the
 * access log's count of a streamed body), and calls `counter.ended` once it has been read to
 * its end, failed or been cancelled. It pulls only when its reader does, so the body's pace
 * and backpressure are the client's as before; cancelling it cancels `body`.
 */
export function counted(
  body: ReadableStream<Uint8Array>,
  counter: { bytes: number; ended?: () => void },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let open = true;
  /** `counter.ended`, once: read to its end, failed, or cancelled. */
  const end = () => {
    if (open) counter.ended?.();
    open = false;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return end();
        }
        counter.bytes += value.byteLength;
        controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        end();
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * `serve(request, env)`'s response handed to `sent`, or what it threw or rejected with to
 * `failed`: at once for a handler that answered at once, else once it has.
 */
export function afterServing<E>(
  serve: (request: Request, env: E) => Response | Promise<Response>,
  request: Request,
  env: E,
  sent: (response: Response) => Response,
  failed: (error: unknown) => never,
): Response | Promise<Response> {
  let result: Response | Promise<Response>;
  try {
    result = serve(request, env);
  } catch (error) {
    return failed(error);
  }
  return result instanceof Promise ? result.then(sent, failed) : sent(result);
}
