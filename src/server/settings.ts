/**
 * The options of `serve()`, checked and completed with their defaults.
 *
 * @module
 */
import {
  checkDuration,
  checkFunction,
  checkKnownOptions,
  checkLogger,
  describeValue,
} from "../core/options.ts";
import type { AccessLogOptions, ServeOptions } from "./types.ts";

export const SERVE_OPTIONS: readonly string[] = [
  "port",
  "hostname",
  "unix",
  "signal",
  "handleSignals",
  "gracefulTimeout",
  "startupTimeout",
  "shutdownTimeout",
  "onListen",
  "tls",
  "http2",
  "keepAliveTimeout",
  "health",
  "shutdownDelay",
  "workers",
  "maxRequests",
  "maxRequestsJitter",
  "accessLog",
  "logger",
];

export type Settings =
  & Required<
    Pick<
      ServeOptions,
      | "port"
      | "hostname"
      | "handleSignals"
      | "gracefulTimeout"
      | "startupTimeout"
      | "shutdownTimeout"
      | "shutdownDelay"
      | "workers"
      | "http2"
      | "maxRequestsJitter"
    >
  >
  & Omit<ServeOptions, "accessLog">
  & {
    /** The access log's settings; undefined when it is off. */
    readonly accessLog?: Required<AccessLogOptions>;
  };

/** Checks `options` and fills in the defaults; bad values are a `TypeError` naming them. */
export function resolveOptions(
  env: (name: string) => string | undefined,
  options: ServeOptions,
): Settings {
  checkKnownOptions("serve()", options, SERVE_OPTIONS);
  const { unix } = options;
  if (unix !== undefined) {
    if (typeof unix !== "string" || unix === "") {
      throw new TypeError(
        `unix must be a socket path (a non-empty string), got ${describeValue(unix)}`,
      );
    }
    for (const name of ["port", "hostname"] as const) {
      if (options[name] !== undefined) {
        throw new TypeError(
          `unix and ${name} cannot be given together: a unix socket has no ${name}, got unix ${
            describeValue(unix)
          } and ${name} ${describeValue(options[name])}`,
        );
      }
    }
  }
  // On a unix socket the TCP defaults (and PORT) do not apply.
  const port = options.port ?? (unix === undefined ? portFromEnv(env) : 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  const hostname = options.hostname ?? (unix === undefined ? "127.0.0.1" : "");
  if (typeof hostname !== "string" || (hostname === "" && unix === undefined)) {
    throw new TypeError(`hostname must be a non-empty string, got ${describeValue(hostname)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describeValue(options.signal)}`);
  }
  const handleSignals = options.handleSignals ?? true;
  if (typeof handleSignals !== "boolean") {
    throw new TypeError(`handleSignals must be a boolean, got ${describeValue(handleSignals)}`);
  }
  if (options.onListen !== undefined) checkFunction("onListen", options.onListen);
  const { tls, health } = options;
  if (
    tls !== undefined &&
    (typeof tls !== "object" || tls === null || typeof tls.cert !== "string" ||
      typeof tls.key !== "string")
  ) {
    throw new TypeError(
      `tls must be an object with cert and key strings, got ${describeValue(tls)}`,
    );
  }
  const http2 = options.http2 ?? false;
  if (typeof http2 !== "boolean") {
    throw new TypeError(`http2 must be a boolean, got ${describeValue(http2)}`);
  }
  if (http2 && tls === undefined) {
    throw new TypeError(
      "http2 needs tls: HTTP/2 is served over TLS, negotiated by ALPN (cleartext h2c is not " +
        "supported), got http2: true without tls",
    );
  }
  const { keepAliveTimeout } = options;
  if (
    keepAliveTimeout !== undefined &&
    !(typeof keepAliveTimeout === "number" && keepAliveTimeout > 0)
  ) {
    throw new TypeError(
      `keepAliveTimeout must be a positive number of milliseconds, got ${
        describeValue(keepAliveTimeout)
      }`,
    );
  }
  if (
    health !== undefined &&
    (typeof health !== "object" || health === null || typeof health.path !== "string" ||
      !health.path.startsWith("/"))
  ) {
    throw new TypeError(
      `health must be an object with a path starting with "/", got ${describeValue(health)}`,
    );
  }
  if (options.logger !== undefined) checkLogger("logger", options.logger);
  const workers = options.workers ?? 1;
  if (workers !== "auto" && !(Number.isInteger(workers) && workers >= 1)) {
    throw new TypeError(
      `workers must be a positive integer or "auto", got ${describeValue(workers)}`,
    );
  }
  const { maxRequests } = options;
  if (maxRequests !== undefined && !(Number.isInteger(maxRequests) && maxRequests >= 1)) {
    throw new TypeError(
      `maxRequests must be a positive integer, got ${describeValue(maxRequests)}`,
    );
  }
  const maxRequestsJitter = options.maxRequestsJitter ?? 0;
  if (!(Number.isInteger(maxRequestsJitter) && maxRequestsJitter >= 0)) {
    throw new TypeError(
      `maxRequestsJitter must be a non-negative integer, got ${describeValue(maxRequestsJitter)}`,
    );
  }
  if (options.maxRequestsJitter !== undefined && maxRequests === undefined) {
    throw new TypeError(
      `maxRequestsJitter needs maxRequests, got maxRequestsJitter ${maxRequestsJitter} alone`,
    );
  }
  return {
    ...options,
    accessLog: accessLogSettings(options.accessLog),
    http2,
    maxRequestsJitter,
    workers,
    port,
    hostname,
    handleSignals,
    gracefulTimeout: checkDuration("gracefulTimeout", options.gracefulTimeout ?? 3000),
    startupTimeout: checkDuration("startupTimeout", options.startupTimeout ?? 60000),
    shutdownTimeout: checkDuration("shutdownTimeout", options.shutdownTimeout ?? 60000),
    shutdownDelay: checkDuration("shutdownDelay", options.shutdownDelay ?? 0),
  };
}

function accessLogSettings(
  accessLog: ServeOptions["accessLog"],
): Required<AccessLogOptions> | undefined {
  if (accessLog === undefined || accessLog === false) return undefined;
  if (accessLog === true) return { query: false };
  if (typeof accessLog === "object" && accessLog !== null && !Array.isArray(accessLog)) {
    checkKnownOptions("accessLog", accessLog, ["query"]);
    const query = accessLog.query ?? false;
    if (typeof query === "boolean") return { query };
    throw new TypeError(`accessLog.query must be a boolean, got ${describeValue(query)}`);
  }
  throw new TypeError(
    `accessLog must be a boolean or an object ({ query }), got ${describeValue(accessLog)}`,
  );
}

function portFromEnv(env: (name: string) => string | undefined): number {
  const value = env("PORT");
  if (value === undefined || value === "") return 8000;
  const port = Number(value);
  if (!Number.isInteger(port)) {
    throw new TypeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

/**
 * `http://host:port` (or https), with brackets around an IPv6 address; no trailing slash. On a
 * unix socket, `unix:/path` (Hypercorn's form: there is no URL a client could fetch).
 */
export function formatUrl(
  hostname: string,
  port: number,
  secure: boolean,
  unix?: string,
): string {
  if (unix !== undefined) return `unix:${unix}`;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}`;
}
