/**
 * examples/postgres against a real PostgreSQL server: the one `DATABASE_URL` names if it
 * answers, else one started here from the Debian `postgresql` binaries (initdb into a temp
 * folder, a free port on 127.0.0.1, stopped after the tests). Only when neither works are the
 * tests that need a server skipped, with the reason printed; `POSTGRES_REQUIRED=1` (.ci/run
 * sets it) makes that a failure instead.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { Child } from "./child.ts";
import { deferred, runtimeName } from "./helpers.ts";
import { freePort, probe } from "./http.ts";

const main = new URL("../examples/postgres/main.ts", import.meta.url).pathname;

/** A server the tests may use, and how to stop it if the tests started it. */
interface Database {
  url: string;
  stop(): Promise<void>;
}

/** Runs a command to its end; resolves with its exit code and output. */
function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => output += chunk);
    child.on("error", (error) => resolve({ code: null, output: String(error) }));
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Why `url` does not answer a query, or undefined if it does. */
async function unreachable(url: string): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await sql.end({ timeout: 0 });
  }
}

/** The folder holding initdb and pg_ctl: on PATH, or where Debian installs them. */
function postgresBin(): string | undefined {
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian) ? readdirSync(debian) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return [
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean),
    ...versions.map((version) => join(debian, version, "bin")),
  ].find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
}

/** The uid and gid of `postgres`, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const passwd = existsSync("/etc/passwd") ? readFileSync("/etc/passwd", "utf8") : "";
  const [, uid, gid] = /^postgres:[^:]*:(\d+):(\d+):/m.exec(passwd) ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** Starts a throwaway server, or says why it cannot. */
async function startLocalServer(): Promise<Database | string> {
  const bin = postgresBin();
  if (!bin) return "initdb and pg_ctl were not found (Debian: apt-get install postgresql)";
  // initdb and postgres refuse to run as root: as root, run them as the postgres user.
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  if (asRoot && !user) return "running as root, and there is no postgres user to run initdb as";
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args])
      : run(join(bin, tool), args);

  const dir = mkdtempSync(join(tmpdir(), "lifespan-hono-postgres-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const initdb = await pg("initdb", [
    ...["-D", data, "-U", "postgres", "--auth=trust", "--no-sync"],
    ...["-E", "UTF8", "--locale=C"],
  ]);
  if (initdb.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `initdb failed: ${initdb.output.trim()}`;
  }
  let failure = "";
  // The free port can be taken before postgres binds it: try again with another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories='' ` +
      "-c fsync=off";
    const start = await pg("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-o",
      options,
      "start",
    ]);
    if (start.code === 0) {
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        async stop() {
          await pg("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    failure = start.output.trim();
  }
  rmSync(dir, { recursive: true, force: true });
  return `pg_ctl start failed: ${failure}`;
}

/** A reachable server, or why there is none. */
async function findDatabase(): Promise<Database | string> {
  const url = process.env.DATABASE_URL;
  const problem = url ? await unreachable(url) : "DATABASE_URL is not set";
  if (url && !problem) return { url, stop: () => Promise.resolve() };
  const started = await startLocalServer();
  return typeof started === "string" ? `${problem}, and no local server: ${started}` : started;
}

const database = await findDatabase();
const skip = typeof database === "string" ? `no PostgreSQL server: ${database}` : false;
if (skip) {
  if (process.env.POSTGRES_REQUIRED === "1") throw new Error(`POSTGRES_REQUIRED=1 but ${skip}`);
  console.warn(`tests/postgres.test.ts: skipping the tests that need a server; ${skip}`);
}

describe(`examples/postgres on ${runtimeName}`, () => {
  after(async () => {
    if (typeof database !== "string") await database.stop();
  });

  test(
    "the pool opens before serving, routes use it, and it closes at SIGTERM",
    { skip },
    async () => {
      if (typeof database === "string") return;
      const child = new Child(main, { PORT: "0", DATABASE_URL: database.url });
      const url = await child.url();
      assert.ok(child.lines.includes("Database pool open"), child.lines.join("\n"));

      const text = `from ${runtimeName} at ${Date.now()}`;
      const created = await fetch(`${url}/notes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
      assert.equal(created.status, 201);
      const note = await created.json();
      assert.equal(note.text, text);
      const notes: { id: number; text: string }[] = await (await fetch(`${url}/notes`)).json();
      assert.deepEqual(notes.find((row) => row.id === note.id), note);
      assert.equal((await fetch(`${url}/notes`, { method: "POST", body: "{}" })).status, 400);

      child.kill("SIGTERM");
      const exit = await child.exited;
      // Exiting on its own also shows no pool connection was left open.
      assert.equal(exit.code, 0, exit.stderr);
      // The pool closed last, and run() then said how long the stop took.
      assert.deepEqual(
        exit.stdout.slice(-2).map((line) => line.replace(/\d+ ms/g, "N ms")),
        ["Database pool closed", "Stopped in N ms (drain N ms, teardown N ms)"],
        exit.stdout.join("\n"),
      );
    },
  );

  test("testApp() opens the pool in-process and closes it at the end", { skip }, async () => {
    if (typeof database === "string") return;
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    try {
      const { app } = await import("../examples/postgres/app.ts");
      {
        await using testApp = await app.testApp();
        const client = testApp.testClient();
        const created = await client.post("/notes", { json: { text: "in process" } });
        assert.equal(created.status, 201);
        const notes: { text: string }[] = await (await client.get("/notes")).json();
        assert.ok(notes.some((note) => note.text === "in process"));
      }
      await assert.rejects(app.state.sql`select 1`, { code: "CONNECTION_ENDED" });
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });

  test("a database that does not answer stops startup: exit 1 naming the hook, no socket", async () => {
    // A "database" that takes the connection and never answers: openPool waits on it.
    const connected = deferred<Socket>();
    const database = createServer((socket) => connected.resolve(socket));
    await new Promise<void>((resolve) => database.listen(0, "127.0.0.1", resolve));
    const { port: databasePort } = database.address() as { port: number };
    const port = await freePort();
    try {
      await using child = new Child(main, {
        PORT: String(port),
        DATABASE_URL: `postgres://postgres@127.0.0.1:${databasePort}/postgres`,
      });
      const socket = await Promise.race([
        connected.promise,
        child.exited.then((exit) => assert.fail(`exited before connecting:\n${exit.stderr}`)),
      ]);
      assert.equal(await probe(port), "refused", "the port was bound while openPool waited");
      database.close();
      socket.destroy(); // the database goes away: the pool's first query fails
      const exit = await child.exitedWithin(10_000, "the database went away during startup");
      assert.equal(exit.code, 1, exit.stderr);
      assert.match(exit.stderr, /openPool/);
      assert.ok(!exit.stdout.some((line) => line.includes("Running on")), exit.stdout.join("\n"));
    } finally {
      database.close();
    }
  });
});
