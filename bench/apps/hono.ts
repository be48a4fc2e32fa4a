/**
 * The app every peer serves, as a plain Hono app. Imports nothing of this library, so that a
 * process serving it pays none of the library's costs.
 *
 * @module
 */
import { Hono } from "hono";

/** The body of the text route, `/`. */
export const TEXT = "Hello, World!";
/** The body of the JSON route, `/json`. */
export const MESSAGE: { message: string } = { message: TEXT };

/** A plain Hono app with the benchmark's two routes. */
export function honoApp(): Hono {
  return new Hono()
    .get("/", (c) => c.text(TEXT))
    .get("/json", (c) => c.json(MESSAGE));
}
