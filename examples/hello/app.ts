/**
 * The README's example: `npm start` runs it (tsx on Node); so do `node examples/hello/app.ts`
 * (Node 24+), `deno run -A examples/hello/app.ts` and `bun run examples/hello/app.ts`.
 * Tested by tests/hello.test.ts.
 */
import { App, currentApp, g } from "@lifespan/hono";

const app = new App<{ State: { visits: number; since: Date } }>();

app.beforeServing(function openCounter() {
  app.state.visits = 0; // runs before the socket is bound
  app.state.since = new Date();
});
app.whileServing(async function* heartbeat() {
  const timer = setInterval(() => console.log(`${app.state.visits} visits`), 60_000);
  yield; // the app serves here
  clearInterval(timer); // after the last request has drained
});
app.afterServing(() => console.log(`Served ${app.state.visits} visits. Bye`));

app.use(async (c, next) => {
  g.start = performance.now(); // g: one namespace per request
  await next();
  c.header("server-timing", `app;dur=${performance.now() - (g.start as number)}`);
});
app.get("/", (c) => {
  const { state } = currentApp<typeof app>();
  return c.text(`Visit #${++state.visits} since ${state.since.toISOString()}`);
});

await app.run(); // Running on http://127.0.0.1:8000 (CTRL + C to quit)
