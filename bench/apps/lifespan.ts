/**
 * The same routes as `hono.ts` on an `App` with a hook of each kind registered, as a user
 * of this library would write it.
 *
 * @module
 */
import { App } from "../../mod.ts";
import { MESSAGE, ORDER_PATH, placeOrder, TEXT } from "./hono.ts";

/** What the hooks keep on `app.state`. */
export interface BenchState {
  startedAt: number;
  open: boolean;
}

/** An `App` with the benchmark's three routes and one no-op hook of each kind. */
export function lifespanApp(): App<{ State: BenchState }> {
  const app = new App<{ State: BenchState }>();
  app.beforeServing(function markStart() {
    app.state.startedAt = Date.now();
  });
  app.whileServing(async function* resource() {
    app.state.open = true;
    yield;
    app.state.open = false;
  });
  app.afterServing(function markStop() {
    app.state.startedAt = 0;
  });
  app.get("/", (c) => c.text(TEXT));
  app.get("/json", (c) => c.json(MESSAGE));
  app.post(ORDER_PATH, placeOrder);
  return app;
}
