/**
 * Where the library's lines go: a console-shaped logger (`console`, a Pino or LogTape logger),
 * given the message first and its structured fields second.
 *
 * @module
 */

/**
 * Structured fields of one record, e.g. `{ hook: "connectDb", durationMs: 150 }`. A thrown value
 * is under `err`, the key Pino's standard serializer reads.
 */
export type LogFields = Record<string, unknown>;

/** A console-shaped logger: what `new App({ logger })` and `serve(app, { logger })` take. */
export interface Logger {
  /** Details for whoever debugs the lifecycle. */
  debug(message: string, fields?: LogFields): void;
  /** Lifecycle facts: started, stopping, stopped. */
  info(message: string, fields?: LogFields): void;
  /** Work cut or abandoned, and what was done about it. */
  warn(message: string, fields?: LogFields): void;
  /** Failures: a hook, a handler, a background task. */
  error(message: string, fields?: LogFields): void;
}

/** The message of an unknown thrown value, for composing messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function write(method: (...args: unknown[]) => void, message: string, fields?: LogFields): void {
  // At a terminal the fields would be noise, but an error's stack is what a person needs.
  if (fields?.err !== undefined) method(message, fields.err);
  else method(message);
}

/** The default: `console`, reached at each call (so that a test may replace its methods). */
export const consoleLogger: Logger = {
  debug: () => {},
  info: (message, fields) => write(console.info, message, fields),
  warn: (message, fields) => write(console.warn, message, fields),
  error: (message, fields) => write(console.error, message, fields),
};
