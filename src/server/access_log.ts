/**
 * The access log (`accessLog`): one `info` line per request through the server's logger, once
 * its response has been sent, with the fields uvicorn and Hypercorn log. The runtime says when
 * a response was sent and what it knows of it (`ListenOptions.onSent`); the line is written
 * here, the same on every runtime. Without the option, nothing of it is installed.
 *
 * @module
 */
import { pathOf } from "../core/drain.ts";
import type { Logger } from "../core/log.ts";
import type { SentResponse } from "../runtimes/types.ts";
import type { AccessLogOptions } from "./types.ts";

/** The fields of one access log line. */
export interface AccessLogFields {
  readonly method: string;
  /** The path, with the query string only when `accessLog.query` is set. */
  readonly path: string;
  readonly status: number;
  /** From the handler's call to the response sent in full, in ms (to 0.01). */
  readonly durationMs: number;
  /** The body bytes sent; null where the runtime cannot tell. */
  readonly bytes: number | null;
  /** The client's address; null on a unix socket. */
  readonly remote: string | null;
  /** `HTTP/1.1` or `HTTP/2`; null where the runtime does not tell. */
  readonly protocol: string | null;
}

/** What the runtime calls once a response is sent: writes its line to `log`. */
export function accessLogger(
  log: Logger,
  { query }: Required<AccessLogOptions>,
): (sent: SentResponse) => void {
  return (sent) => {
    const path = pathOf(sent.url, query);
    const fields: AccessLogFields = {
      method: sent.method,
      path,
      status: sent.status,
      durationMs: Math.round((performance.now() - sent.startedAt) * 100) / 100,
      // A HEAD request's body, or a 204's or 304's, is never sent, whatever the app gave.
      bytes: sent.method === "HEAD" || sent.status === 204 || sent.status === 304 ? 0 : sent.bytes,
      remote: sent.remote,
      protocol: sent.protocol,
    };
    log.info(`${sent.method} ${path} ${sent.status}`, fields as unknown as Record<string, unknown>);
  };
}
