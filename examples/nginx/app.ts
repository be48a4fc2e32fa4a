/**
 * An app behind nginx, on a unix socket: `npx lifespan-hono --unix /run/app/app.sock
 * examples/nginx/app.ts` serves it, and `app.conf` is nginx's side. The client's address comes
 * in `X-Forwarded-For`: a unix socket has none of its own.
 */
import { App } from "@lifespan/hono";

const app: App<{ State: { served: number } }> = new App<{ State: { served: number } }>();

app.beforeServing(function openCounter() {
  app.state.served = 0;
  console.log("Counter open");
});
app.afterServing(function closeCounter() {
  console.log(`Counter closed after ${app.state.served} requests`);
});

app.get("/", (c) => {
  app.state.served++;
  return c.text(`Hello ${c.req.header("x-forwarded-for")}`);
});
app.get("/report", async (c) => {
  console.log("Building the report");
  await new Promise((resolve) => setTimeout(resolve, Number(c.req.query("ms") ?? 500)));
  app.state.served++;
  return c.text("The report");
});

export default app;
