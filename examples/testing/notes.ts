/**
 * A small notes API with a resource opened at startup and closed at shutdown: the app that
 * the tests beside it run in `node:test`, vitest, `deno test` and `bun test`, and through
 * Hono's typed client. Serve it with `npx lifespan-hono examples/testing/notes.ts:app`.
 */
import { App } from "@lifespan/hono";
import { validator } from "hono/validator";

/** A note as the API returns it. */
export interface Note {
  id: number;
  text: string;
}

/**
 * The resource: an in-memory store standing in for a database pool. It must be opened before
 * use and closed after; a closed store refuses to work, so a test that used the app outside
 * its lifespan would fail loudly.
 */
export class NoteStore {
  readonly #notes = new Map<number, Note>();
  #nextId = 1;
  #open = true;

  private constructor() {}

  /** Opens a store, as a pool connects (asynchronously). */
  static async open(): Promise<NoteStore> {
    await null;
    return new NoteStore();
  }

  /** Whether it is still open. */
  get isOpen(): boolean {
    return this.#open;
  }

  add(text: string): Note {
    const note = { id: this.#nextId++, text };
    this.#checkOpen().#notes.set(note.id, note);
    return note;
  }

  get(id: number): Note | undefined {
    return this.#checkOpen().#notes.get(id);
  }

  list(): Note[] {
    return [...this.#checkOpen().#notes.values()];
  }

  async close(): Promise<void> {
    await null;
    this.#open = false;
  }

  #checkOpen(): this {
    if (!this.#open) throw new Error("The note store is closed");
    return this;
  }
}

export const app = new App<{ State: { notes: NoteStore } }>();

app.beforeServing(async function openStore() {
  app.state.notes = await NoteStore.open();
});
app.afterServing(async function closeStore() {
  await app.state.notes.close();
});

/** The routes, chained so that their types add up: what `hc<NotesRoutes>` reads. */
export const routes = app
  .get("/notes", (c) => c.json(app.state.notes.list()))
  .post(
    "/notes",
    validator("json", (value, c) => {
      const text = (value as { text?: unknown }).text;
      if (typeof text !== "string" || text === "") {
        return c.json({ error: "expected a JSON body with a non-empty text" }, 400);
      }
      return { text };
    }),
    (c) => c.json(app.state.notes.add(c.req.valid("json").text), 201),
  )
  .get("/notes/:id", (c) => {
    const note = app.state.notes.get(Number(c.req.param("id")));
    return note === undefined ? c.json({ error: "no such note" }, 404) : c.json(note, 200);
  });

/** The type of the routes, for Hono's typed client: `hc<NotesRoutes>(url)`. */
export type NotesRoutes = typeof routes;
