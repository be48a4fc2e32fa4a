/**
 * Deno: `Deno.serve`, stopped with its `shutdown()`.
 *
 * @module
 */
import type { Handler, Listener, ListenOptions, Runtime } from "./types.ts";

/** The part of Deno's API the adapter uses, typed here so that tsc checks it too. */
interface DenoApi {
  serve(
    options: {
      hostname: string;
      port: number;
      cert?: string;
      key?: string;
      onListen: () => void;
      onError: (error: unknown) => Response;
    },
    handler: Handler,
  ): {
    addr: { hostname: string; port: number };
    finished: Promise<void>;
    shutdown(): Promise<void>;
  };
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
  exitCode: number;
  env: { get(name: string): string | undefined };
}

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

function internalError(error: unknown): Response {
  console.error(error);
  return new Response("Internal Server Error", { status: 500 });
}

function listen({ handler, hostname, port, tls }: ListenOptions): Promise<Listener> {
  // Deno.serve throws at once (AddrInUse) when it cannot bind.
  const server = Deno.serve(
    { hostname, port, ...tls, onListen: () => {}, onError: internalError },
    handler,
  );
  return Promise.resolve({
    hostname: server.addr.hostname,
    port: server.addr.port,
    async close(gracefulTimeout) {
      const shutdown = server.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, gracefulTimeout));
      await Promise.race([shutdown, deadline]).finally(() => clearTimeout(timer));
    },
  });
}

/** The Deno runtime. */
export const runtime: Runtime = {
  listen: (options) => {
    try {
      return listen(options);
    } catch (error) {
      return Promise.reject(error);
    }
  },
  onSignal(signal, listener) {
    try {
      Deno.addSignalListener(signal, listener);
    } catch {
      return () => {}; // SIGTERM does not exist on Windows
    }
    return () => Deno.removeSignalListener(signal, listener);
  },
  exit: (code) => Deno.exit(code),
  setExitCode(code) {
    Deno.exitCode = code;
  },
  env: (name) => Deno.env.get(name),
};
