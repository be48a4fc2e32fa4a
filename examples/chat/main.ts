/** Runs the chat example: `npx tsx examples/chat/main.ts`, `deno run -A …`, `bun run …`. */
import { app } from "./app.ts";

await app.run();
