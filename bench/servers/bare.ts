/**
 * Peer "bare": the runtime's own server with the plain Hono app, as Hono's docs show it
 * (`Deno.serve`, `Bun.serve`, `@hono/node-server`'s `serve`), stopped on SIGTERM with the
 * server's own graceful stop. Prints `ready <url>` once listening.
 *
 * @module
 */
import process from "node:process";
import { honoApp } from "../apps/hono.ts";

type Fetch = (request: Request) => Response | Promise<Response>;

/** The part of Deno's API used here, typed so that tsc checks it too. */
interface DenoApi {
  serve(
    options: { hostname: string; port: number; onListen: (addr: { port: number }) => void },
    handler: Fetch,
  ): { shutdown(): Promise<void> };
}

/** The part of Bun's API used here. */
interface BunApi {
  serve(options: { hostname: string; port: number; development: boolean; fetch: Fetch }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

const hostname = "127.0.0.1";
const app = honoApp();
const ready = (port: number) => console.log(`ready http://${hostname}:${port}`);
const onTerm = (stop: () => unknown) => process.once("SIGTERM", () => void stop());

if ("Deno" in globalThis) {
  const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const server = Deno.serve({ hostname, port: 0, onListen: ({ port }) => ready(port) }, app.fetch);
  onTerm(() => server.shutdown());
} else if ("Bun" in globalThis) {
  const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  const server = Bun.serve({ hostname, port: 0, development: false, fetch: app.fetch });
  ready(server.port);
  onTerm(() => server.stop());
} else {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch: app.fetch, hostname, port: 0 }, (info) => ready(info.port));
  onTerm(() => server.close());
}
