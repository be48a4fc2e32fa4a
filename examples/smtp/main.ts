/** Runs the SMTP example: `npx tsx examples/smtp/main.ts`, `deno run -A …`, `bun run …`. */
import { app } from "./app.ts";

await app.run();
