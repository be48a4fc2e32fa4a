/**
 * Bun: `Bun.serve`, stopped with its `stop()`.
 *
 * @module
 */
import process from "node:process";
import type { Handler, Listener, ListenOptions, Runtime } from "./types.ts";

/** The part of Bun's API the adapter uses, typed here so that tsc and deno check it too. */
interface BunApi {
  serve(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    development: boolean;
    fetch: Handler;
    error: (error: unknown) => Response;
  }): {
    hostname: string;
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

function internalError(error: unknown): Response {
  console.error(error);
  return new Response("Internal Server Error", { status: 500 });
}

function race(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => timer = setTimeout(resolve, ms, false));
  return Promise.race([work.then(() => true), deadline]).finally(() => clearTimeout(timer));
}

function listen({ handler, hostname, port, tls }: ListenOptions): Promise<Listener> {
  // Bun.serve throws at once when it cannot bind. `development: false`: no error page with
  // stack traces for errors that escape the handler.
  const server = Bun.serve({
    hostname,
    port,
    tls,
    development: false,
    fetch: handler,
    error: internalError,
  });
  return Promise.resolve({
    hostname: server.hostname,
    port: server.port,
    async close(gracefulTimeout) {
      if (await race(server.stop(false), gracefulTimeout)) return;
      // stop(true) can hang while a handler is pending (bun#40043): bound it too.
      await race(server.stop(true), 1000);
    },
  });
}

/** The Bun runtime. */
export const runtime: Runtime = {
  listen: (options) => {
    try {
      return listen(options);
    } catch (error) {
      return Promise.reject(error);
    }
  },
  onSignal(signal, listener) {
    process.on(signal, listener);
    return () => process.off(signal, listener);
  },
  exit: (code) => process.exit(code),
  setExitCode(code) {
    process.exitCode = code;
  },
  env: (name) => process.env[name],
};
