/**
 * WebSocket echo throughput, in messages per second, on each runtime:
 *
 * - `bare`: the runtime's own WebSocket server (Node: a `ws` server on `node:http`; Deno:
 *   `Deno.upgradeWebSocket` in `Deno.serve`; Bun: `Bun.serve`'s `websocket`);
 * - `hono`: a plain Hono app with the runtime's Hono helper (`@hono/node-server` with `ws`,
 *   `hono/deno`, `hono/bun`), served the runtime's usual way;
 * - `ours`: an `App` with `upgradeWebSocket` from `@lifespan/hono`, served by `serve()`.
 *
 * Each echoes a text message as a string (what every Hono helper gives the app). The three
 * alternate round by round, in a different order each round, so that drift on a shared machine
 * cancels out in the ratios. Runs on its own:
 *
 *     node --import tsx bench/websocket.ts [--runtimes=node,deno,bun] [--seconds=3]
 *       [--rounds=3] [--connections=16] [--window=8]
 *
 * (`bun bench/websocket.ts` drives the load with Bun's faster client: on 2 cores the Node
 * client is the bottleneck and hides the servers' differences.) Each server runs in a child
 * process (this file with `--serve=bare|hono|ours`) on 127.0.0.1, port 0; the driver keeps
 * `connections` `ws` clients with `window` messages in flight each, answers each echo with the
 * next message, and counts echoes after a warm-up. Bounded: every child is killed when its run
 * ends, and the driver gives up after `TIME_LIMIT_MS`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";

type RuntimeName = "node" | "deno" | "bun";
type Kind = "ours" | "hono" | "bare";
const KINDS: readonly Kind[] = ["bare", "hono", "ours"];

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const WARMUP_MS = 500;
const START_TIMEOUT_MS = 30_000;
const TIME_LIMIT_MS = 10 * 60_000;
/** 64 bytes of text: a chat message, not a file transfer. */
const PAYLOAD = "x".repeat(64);

function option(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

function positive(name: string, fallback: number): number {
  const value = Number(option(name, String(fallback)));
  if (!(value > 0)) throw new TypeError(`--${name} must be a positive number`);
  return value;
}

const runtimeName: RuntimeName = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

// ---------------------------------------------------------------------------------------------
// Servers: `--serve=bare|hono|ours`. Each prints `url <url>` once listening and echoes every message.

async function serveOurs(): Promise<string> {
  const { App, serve, upgradeWebSocket } = await import("../mod.ts");
  const app = new App();
  app.get(
    "/",
    upgradeWebSocket(() => ({
      onMessage: (event, ws) => ws.send(event.data as string | ArrayBuffer),
    })),
  );
  const server = await serve(app, { port: 0 });
  return server.url;
}

/** A plain Hono app with the runtime's own Hono helper, served the runtime's usual way. */
async function serveHono(): Promise<string> {
  const { Hono } = await import("hono");
  const app = new Hono();
  if (runtimeName === "deno") {
    const { upgradeWebSocket } = await import("hono/deno");
    app.get(
      "/",
      upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(event.data as string) })),
    );
    const Deno = (globalThis as unknown as { Deno: DenoBare }).Deno;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    return `http://127.0.0.1:${server.addr.port}`;
  }
  if (runtimeName === "bun") {
    const { createBunWebSocket } = await import("hono/bun");
    const { upgradeWebSocket, websocket } = createBunWebSocket();
    app.get(
      "/",
      upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(event.data as string) })),
    );
    const Bun = (globalThis as unknown as { Bun: BunHono }).Bun;
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, websocket });
    return `http://127.0.0.1:${server.port}`;
  }
  const { serve, upgradeWebSocket } = await import("@hono/node-server");
  app.get(
    "/",
    upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(event.data as string) })),
  );
  const wss = new WebSocketServer({ noServer: true });
  return await new Promise((resolve) => {
    serve(
      { fetch: app.fetch, hostname: "127.0.0.1", port: 0, websocket: { server: wss } },
      (info) => {
        resolve(`http://127.0.0.1:${info.port}`);
      },
    );
  });
}

interface BunHono {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: unknown) => Response | Promise<Response>;
    websocket: unknown;
  }): { port: number };
}

interface DenoBare {
  serve(
    options: { hostname: string; port: number; onListen: () => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { port: number } };
  upgradeWebSocket(request: Request): { socket: WebSocket; response: Response };
}

interface BunBare {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: { upgrade(request: Request): boolean }) => Response | void;
    websocket: { message(ws: { send(data: unknown): void }, message: unknown): void };
  }): { port: number };
}

function serveBare(): Promise<string> {
  if (runtimeName === "deno") {
    const Deno = (globalThis as unknown as { Deno: DenoBare }).Deno;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onmessage = (event) => socket.send(event.data);
      return response;
    });
    return Promise.resolve(`http://127.0.0.1:${server.addr.port}`);
  }
  if (runtimeName === "bun") {
    const Bun = (globalThis as unknown as { Bun: BunBare }).Bun;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request, server) =>
        server.upgrade(request) ? undefined : new Response("Upgrade required", { status: 426 }),
      websocket: { message: (ws, message) => ws.send(message) },
    });
    return Promise.resolve(`http://127.0.0.1:${server.port}`);
  }
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => {
    // Text read as a string, as Deno, Bun and every Hono helper hand it to the app.
    ws.on("message", (data, isBinary) => ws.send(isBinary ? data : String(data)));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The driver.

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

function command(runtime: RuntimeName, kind: Kind): [string, string[]] {
  const bin = (name: string) => `${ROOT}node_modules/.bin/${name}`;
  const args = [SELF, `--serve=${kind}`];
  switch (runtime) {
    case "node":
      return ["node", ["--import", "tsx", ...args]];
    case "deno":
      return [bin("deno"), ["run", "-A", "--quiet", ...args]];
    case "bun":
      return [bin("bun"), ["run", ...args]];
  }
}

/** Starts a server child and resolves with it and its URL (as `ws://`). */
function startServer(
  runtime: RuntimeName,
  kind: Kind,
): Promise<{ child: ChildProcess; url: string }> {
  const [bin, args] = command(runtime, kind);
  const child = spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${runtime} ${kind} server did not start in ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      const url = /^url (\S+)$/m.exec(output)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: url.replace(/^http/, "ws") });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} ${kind} server exited with ${code} before listening`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return exited;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Echoes per second over `connections` sockets with `window` messages in flight on each. */
async function measure(
  url: string,
  options: { seconds: number; connections: number; window: number },
): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: options.connections }, () => connect(url)),
  );
  let running = true;
  let counting = false;
  let echoes = 0;
  for (const ws of sockets) {
    ws.on("message", () => {
      if (counting) echoes++;
      if (running) ws.send(PAYLOAD);
    });
    ws.on("error", () => {}); // the server is killed at the end of the round
    for (let i = 0; i < options.window; i++) ws.send(PAYLOAD);
  }
  await delay(WARMUP_MS);
  counting = true;
  const started = performance.now();
  await delay(options.seconds * 1000);
  counting = false;
  const elapsed = performance.now() - started;
  running = false;
  for (const ws of sockets) ws.terminate();
  return echoes / elapsed * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const BARE: Record<RuntimeName, string> = {
  node: "ws on node:http",
  deno: "Deno.upgradeWebSocket",
  bun: "Bun.serve websocket",
};

async function drive(): Promise<void> {
  const runtimes = option("runtimes", "node,deno,bun").split(",") as RuntimeName[];
  for (const runtime of runtimes) {
    if (!(runtime in BARE)) throw new TypeError(`Unknown runtime ${runtime}`);
  }
  const seconds = positive("seconds", 3);
  const rounds = positive("rounds", 3);
  const settings = {
    seconds,
    connections: positive("connections", 16),
    window: positive("window", 8),
  };
  const limit = setTimeout(() => {
    console.error(`Gave up after ${TIME_LIMIT_MS} ms`);
    process.exit(1);
  }, TIME_LIMIT_MS);
  limit.unref();

  console.log(
    `WebSocket echo, ${settings.connections} connections x ${settings.window} in flight, ` +
      `${PAYLOAD.length}-byte text, ${seconds} s per run, ${rounds} round(s), 127.0.0.1`,
  );
  const rows: string[][] = [];
  for (const runtime of runtimes) {
    const results: Record<Kind, number[]> = { ours: [], hono: [], bare: [] };
    const ratios: Record<"ours" | "hono", number[]> = { ours: [], hono: [] };
    for (let round = 0; round < rounds; round++) {
      // A different order each round, so that none is always first (or last) after a restart.
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
      const rate: Partial<Record<Kind, number>> = {};
      for (const kind of order) {
        const { child, url } = await startServer(runtime, kind);
        try {
          rate[kind] = await measure(url, settings);
        } finally {
          await stopServer(child);
        }
        results[kind].push(rate[kind]!);
      }
      ratios.ours.push(rate.ours! / rate.bare!);
      ratios.hono.push(rate.hono! / rate.bare!);
      console.log(
        `  ${runtime} round ${round + 1}: ` +
          order.map((kind) => `${kind} ${Math.round(rate[kind]!)}/s`).join(", "),
      );
    }
    const percent = (values: number[]) => `${(median(values) * 100).toFixed(0)} %`;
    rows.push([
      runtime,
      BARE[runtime],
      String(Math.round(median(results.bare))),
      String(Math.round(median(results.hono))),
      String(Math.round(median(results.ours))),
      percent(ratios.hono),
      percent(ratios.ours),
    ]);
  }
  const header = [
    "runtime",
    "bare server",
    "bare msg/s",
    "hono msg/s",
    "ours msg/s",
    "hono/bare",
    "ours/bare",
  ];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(`\n${line(header)}\n${line(widths.map((width) => "-".repeat(width)))}`);
  for (const row of rows) console.log(line(row));
  clearTimeout(limit);
}

const serveKind = option("serve", "");
if ((KINDS as readonly string[]).includes(serveKind)) {
  const serveKinds = { ours: serveOurs, hono: serveHono, bare: serveBare };
  console.log(`url ${await serveKinds[serveKind as Kind]()}`);
} else {
  await drive();
}
