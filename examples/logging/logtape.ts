/**
 * The library's lines through LogTape, as JSON lines: `deno run -A examples/logging/logtape.ts`,
 * `bun run examples/logging/logtape.ts` or `npx tsx examples/logging/logtape.ts`. GET /report
 * takes 5 s: stop the server meanwhile (CTRL + C) to see the grace period cut it, by name.
 */
import { App } from "@lifespan/hono";
import { configure, getConsoleSink, getLogger, jsonLinesFormatter } from "@logtape/logtape";

await configure({
  sinks: { console: getConsoleSink({ formatter: jsonLinesFormatter }) },
  loggers: [
    { category: ["my-app"], lowestLevel: "debug", sinks: ["console"] },
    // LogTape's own notices, at warnings only.
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

// A LogTape logger takes the message, then the fields: it is a logger as the library wants it.
const app = new App({ logger: getLogger(["my-app", "lifespan"]) });
app.beforeServing(async function connectDb() {
  await new Promise((resolve) => setTimeout(resolve, 50)); // a database connecting
});
app.get("/", (c) => c.text("Hello"));
app.get("/report", async (c) => {
  getLogger(["my-app"]).info("Building the report");
  await new Promise((resolve) => setTimeout(resolve, 5000));
  return c.text("Report");
});

await app.run({ gracefulTimeout: 1000 });
