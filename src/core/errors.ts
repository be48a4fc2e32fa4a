/**
 * The errors a lifespan reports. Misuse (a bad option, a hook that is not a function) throws
 * the built-in `TypeError` instead; these are for failures a caller catches and handles.
 *
 * @module
 */

/**
 * Base class of the errors raised by a failing lifespan phase.
 *
 * @example Catch any lifespan failure
 * ```ts
 * import { App, LifespanError } from "@lifespan/hono";
 *
 * const app = new App();
 * try {
 *   await app.startup();
 *   await app.shutdown();
 * } catch (error) {
 *   if (error instanceof LifespanError) console.error(error.message);
 * }
 * ```
 */
export class LifespanError extends Error {
  /** Creates an error with a message and, optionally, the error that caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LifespanError";
  }
}

/**
 * Startup failed: a hook threw, a generator ended before its `yield`, or the startup timeout
 * passed. `cause` holds the original error. Generators already started were closed and no
 * socket was bound.
 *
 * @example Report which hook failed
 * ```ts
 * import { App, StartupError } from "@lifespan/hono";
 *
 * const app = new App().beforeServing(function connectDatabase() {
 *   throw new Error("connection refused");
 * });
 * try {
 *   await app.startup();
 * } catch (error) {
 *   if (error instanceof StartupError) console.error(error.hook, error.cause);
 * }
 * ```
 */
export class StartupError extends LifespanError {
  /** The hook that failed or was still pending at the timeout, as named in the message. */
  readonly hook: string;

  /** Creates a startup error for the named hook. */
  constructor(message: string, hook: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
    this.hook = hook;
  }
}

/**
 * One or more teardown steps failed. Every step ran regardless; `errors` holds each failure
 * (the first is also `cause`).
 *
 * @example List every teardown failure
 * ```ts
 * import { App, ShutdownError } from "@lifespan/hono";
 *
 * const app = new App();
 * await app.startup();
 * try {
 *   await app.shutdown();
 * } catch (error) {
 *   if (error instanceof ShutdownError) error.errors.forEach((e) => console.error(e));
 * }
 * ```
 */
export class ShutdownError extends LifespanError {
  /** Every error raised during the shutdown, in the order they happened. */
  readonly errors: readonly unknown[];

  /** Creates a shutdown error that carries every teardown error. */
  constructor(message: string, errors: readonly unknown[]) {
    super(message, { cause: errors[0] });
    this.name = "ShutdownError";
    this.errors = errors;
  }
}
