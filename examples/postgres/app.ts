/**
 * A PostgreSQL connection pool that lives exactly as long as the web app: opened in
 * `beforeServing` (before the socket is bound, so a wrong `DATABASE_URL` stops startup instead
 * of failing the first request), used by the routes through `app.state.sql`, and closed in
 * `afterServing` once the last request has drained. `main.ts` runs it.
 */
import process from "node:process";
import postgres from "postgres";
import { App } from "@lifespan/hono";

/** What the app keeps between startup and shutdown. */
export interface State {
  sql: postgres.Sql;
}

/** A row of the `notes` table. */
export interface Note {
  id: number;
  text: string;
}

export const app: App<{ State: State }> = new App<{ State: State }>();

app.beforeServing(async function openPool() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set, e.g. postgres://user:pass@127.0.0.1/app");
  const sql = postgres(url, {
    max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    // `create table if not exists` below sends a notice on every start but the first.
    onnotice: () => {},
  });
  try {
    // `postgres` connects lazily: this first query is what proves the server is reachable.
    // A real app would run its migrations here, once per start, before any request.
    await sql`
      create table if not exists notes (
        id serial primary key,
        text text not null,
        created_at timestamptz not null default now()
      )`;
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw error;
  }
  app.state.sql = sql;
  console.log("Database pool open");
});

app.afterServing(async function closePool() {
  // Requests have drained by now; `timeout` bounds queries still running in background tasks.
  await app.state.sql.end({ timeout: 5 });
  console.log("Database pool closed");
});

app.get("/notes", async (c) => {
  const notes = await app.state.sql<Note[]>`select id, text from notes order by id`;
  return c.json(notes);
});

app.post("/notes", async (c) => {
  const body = await c.req.json<{ text?: unknown }>().catch(() => ({ text: undefined }));
  if (typeof body.text !== "string" || body.text === "") {
    return c.json({ error: "Expected a JSON body with a non-empty string `text`" }, 400);
  }
  const [note] = await app.state.sql<Note[]>`
    insert into notes (text) values (${body.text}) returning id, text`;
  return c.json(note, 201);
});
