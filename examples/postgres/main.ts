/** Runs the Postgres example: `npx tsx examples/postgres/main.ts`, `deno run -A …`, `bun run …`. */
import { app } from "./app.ts";

await app.run();
