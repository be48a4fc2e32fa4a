/**
 * The smallest app with a lifespan: `npm start` runs it (with tsx on Node); so do
 * `deno run -A examples/hello/app.ts` and `bun run examples/hello/app.ts`.
 */
import { App, currentApp, g } from "@lifespan/hono";

const app = new App<{ State: { startedAt: Date; visits: number } }>();

app.beforeServing(() => {
  app.state.startedAt = new Date();
  app.state.visits = 0;
});
app.whileServing(async function* ticker() {
  const timer = setInterval(() => console.log(`${app.state.visits} visit(s) so far`), 60_000);
  yield; // the app serves here
  clearInterval(timer);
});
app.afterServing(() => console.log(`Served ${app.state.visits} visit(s). Bye`));

app.use(async (c, next) => {
  g.requestStart = performance.now();
  await next();
  c.header("server-timing", `app;dur=${performance.now() - (g.requestStart as number)}`);
});
app.get("/", (c) => {
  const { state } = currentApp<typeof app>();
  state.visits++;
  return c.text(`Hello! Up since ${state.startedAt.toISOString()}, visit #${state.visits}`);
});

await app.run();
