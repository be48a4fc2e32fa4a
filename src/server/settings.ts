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
import type { ServeOptions } from "./types.ts";

export const SERVE_OPTIONS: readonly string[] = [
  "port",
  "hostname",
  "signal",
  "handleSignals",
  "gracefulTimeout",
  "startupTimeout",
  "shutdownTimeout",
  "onListen",
  "tls",
  "health",
  "shutdownDelay",
  "workers",
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
    >
  >
  & ServeOptions;

/** Checks `options` and fills in the defaults; bad values are a `TypeError` naming them. */
export function resolveOptions(
  env: (name: string) => string | undefined,
  options: ServeOptions,
): Settings {
  checkKnownOptions("serve()", options, SERVE_OPTIONS);
  const port = options.port ?? portFromEnv(env);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string" || hostname === "") {
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
  return {
    ...options,
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

function portFromEnv(env: (name: string) => string | undefined): number {
  const value = env("PORT");
  if (value === undefined || value === "") return 8000;
  const port = Number(value);
  if (!Number.isInteger(port)) {
    throw new TypeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

/** `http://host:port` (or https), with brackets around an IPv6 address; no trailing slash. */
export function formatUrl(hostname: string, port: number, secure: boolean): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}`;
}
