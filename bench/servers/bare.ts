/**
 * Peer "bare": the runtime's own server with the plain Hono app, as Hono's docs show it
 * (`Deno.serve`, `Bun.serve`, `@hono/node-server`'s `serve`), stopped on SIGTERM with the
 * server's own graceful stop. Prints `ready <url>` once listening.
 *
 * @module
 */
import { honoApp } from "../apps/hono.ts";

type Fetch = (request: Request) => Response | Promise<Response>;

/** The part of Deno's API used here, typed so that tsc checks it too. */
interface DenoApi {
  serve(
    options: { hostname: string; port: number; onListen: (addr: { port: number }) => void },
    handler: Fetch,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM", listener: () => void): void;
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
// Deno's own signal API: on Deno, loading `node:process` alone delays the first response by
// 5–10 ms, which a Deno server written as Deno's docs show never pays.
const onTerm = async (stop: () => unknown) => {
  const deno = (globalThis as unknown as { Deno?: DenoApi }).Deno;
  if (deno !== undefined) deno.addSignalListener("SIGTERM", () => void stop());
  else (await import("node:process")).default.once("SIGTERM", () => void stop());
};

if ("Deno" in globalThis) {
  const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const server = Deno.serve({ hostname, port: 0, onListen: ({ port }) => ready(port) }, app.fetch);
  await onTerm(() => server.shutdown());
} else if ("Bun" in globalThis) {
  const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  const server = Bun.serve({ hostname, port: 0, development: false, fetch: app.fetch });
  ready(server.port);
  await onTerm(() => server.stop());
} else {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch: app.fetch, hostname, port: 0 }, (info) => ready(info.port));
  await onTerm(() => server.close());
}
