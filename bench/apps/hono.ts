/**
 * The app every peer serves, as a plain Hono app. Imports nothing of this library, so that a
 * process serving it pays none of the library's costs.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";

/** The body of the text route, `/`. */
export const TEXT = "Hello, World!";
/** The body of the JSON route, `/json`. */
export const MESSAGE: { message: string } = { message: TEXT };

/** The path of the realistic route: `POST` a JSON body, answered in JSON after a 1 ms wait. */
export const ORDER_PATH = "/orders";
/** What the load generator posts to `ORDER_PATH`. */
export const ORDER: { item: string; quantity: number; note: string } = {
  item: "widget",
  quantity: 3,
  note: "leave at the door",
};

/** The async step of the realistic route: 1 ms, as a query or a call to another service. */
const step = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/**
 * The realistic route's handler, the same on both apps: parses the JSON body, awaits a 1 ms
 * step, answers JSON.
 */
export async function placeOrder(c: Context): Promise<Response> {
  const order = await c.req.json<typeof ORDER>();
  await step();
  return c.json({ accepted: true, item: order.item, quantity: order.quantity }, 201);
}

/** A plain Hono app with the benchmark's three routes. */
export function honoApp(): Hono {
  return new Hono()
    .get("/", (c) => c.text(TEXT))
    .get("/json", (c) => c.json(MESSAGE))
    .post(ORDER_PATH, placeOrder);
}
