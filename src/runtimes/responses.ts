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
