/**
 * The library's lines as Pino JSON: `deno run -A examples/logging/pino.ts`,
 * `bun run examples/logging/pino.ts` or `npx tsx examples/logging/pino.ts`. GET /report takes
 * 5 s: stop the server meanwhile (CTRL + C) to see the grace period cut it, by name.
 */
// #region logger
import { App, type Logger } from "@lifespan/hono";
import { pino } from "pino";

const root = pino({ level: "debug" });

// Pino takes the fields first and the message second; the library passes the message first.
const pinoLogger = root.child({ component: "lifespan" });
const logger: Logger = {
  debug: (message, fields) => pinoLogger.debug(fields ?? {}, message),
  info: (message, fields) => pinoLogger.info(fields ?? {}, message),
  warn: (message, fields) => pinoLogger.warn(fields ?? {}, message),
  error: (message, fields) => pinoLogger.error(fields ?? {}, message),
};

const app = new App({ logger });
// #endregion logger
app.beforeServing(async function connectDb() {
  await new Promise((resolve) => setTimeout(resolve, 50)); // a database connecting
});
app.get("/", (c) => c.text("Hello"));
app.get("/report", async (c) => {
  root.info("Building the report");
  await new Promise((resolve) => setTimeout(resolve, 5000));
  return c.text("Report");
});

await app.run({ gracefulTimeout: 1000 });
