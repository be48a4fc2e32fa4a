/**
 * A worker's side of its link to the primary (see `primary.ts`): told by the
 * `LIFESPAN_HONO_WORKER` environment variable that it is a worker, which port to bind, and
 * talking to the primary over the IPC channel.
 *
 * @module
 */
import process from "node:process";
import { StartupError } from "../core/errors.ts";
import { messageOf } from "../core/log.ts";
import { RETIRED } from "./lifecycle.ts";

/** The environment variable that tells a process it is a worker, and which. */
export const WORKER_ENV = "LIFESPAN_HONO_WORKER";

/** What a worker is told at its start: its place, and its port (`null`: wait for it). */
export interface WorkerMarker {
  readonly index: number;
  readonly port: number | null;
}

/** What the primary tells a worker over the IPC channel. */
export type Order =
  | { readonly lifespanPrimary: "port"; readonly port: number }
  | { readonly lifespanPrimary: "stop" }
  /** Stop: a new worker took this one's place (a reload), the server as a whole goes on. */
  | { readonly lifespanPrimary: "retire" }
  /**
   * The answer to "stopped": the primary has let go of the worker. node:cluster hands each
   * connection to a worker over this channel and waits for the worker's word on it; this order
   * comes after every connection the primary handed over before it knew the worker's server had
   * closed (the channel keeps order), and the worker answers those (refused: the primary hands
   * them to another) before it lets the channel go. A worker that exited without reading them
   * left each one open in the primary, and its client waiting, for good.
   */
  | { readonly lifespanPrimary: "released" };

/** What a worker tells its primary over the IPC channel. */
export type Report =
  | { readonly lifespanWorker: "ready" }
  | { readonly lifespanWorker: "listening"; readonly port: number }
  | { readonly lifespanWorker: "failed"; readonly message: string; readonly hook?: string }
  | { readonly lifespanWorker: "stopped"; readonly succeeded: boolean }
  /** It has answered its `maxRequests` (with its jitter): the primary replaces it. */
  | { readonly lifespanWorker: "maxRequests"; readonly requests: number };

/** How long a stopped worker waits for the primary to release it: far more than a round trip. */
export const RELEASE_WAIT_MS = 1000;

function isOrder(message: unknown): message is Order {
  return typeof message === "object" && message !== null && "lifespanPrimary" in message;
}

/** A worker's side of the channel to its primary. */
export interface PrimaryLink {
  /** Which worker this is, from 1. */
  readonly index: number;
  /** The port to bind: given at start, or sent by the primary once the first worker bound it. */
  port(interrupted: AbortSignal): Promise<number>;
  /** Tells the primary this worker listens, on `port`. */
  listening(port: number): void;
  /** Tells the primary why startup failed; resolves once the message is on its way. */
  failed(error: unknown): Promise<void>;
  /**
   * Tells the primary the shutdown is over, and whether it succeeded; resolves once the primary
   * has released the worker (or after `RELEASE_WAIT_MS`, or once the channel is gone).
   */
  stopped(succeeded: boolean): Promise<void>;
  /** Asks the primary to replace this worker: it has answered its `requests`. */
  maxRequestsReached(requests: number): void;
  /**
   * Calls `requestStop` when the primary asks this worker to stop (however often it asks; with
   * `RETIRED` when a reload replaced it) or goes away. Returns its remover, which also lets the process exit although the channel is
   * open.
   */
  onStopRequest(requestStop: (reason: string) => void): () => void;
}

/** The link to the primary when this process is a worker; undefined when it is not. */
export function joinPrimary(marker: string | undefined): PrimaryLink | undefined {
  if (marker === undefined || typeof process.send !== "function") return undefined;
  const { index, port: given } = JSON.parse(marker) as WorkerMarker;
  // A program the app starts in turn must not take itself for a worker.
  delete process.env[WORKER_ENV];
  const send = (report: Report) =>
    new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      process.send!(report, undefined, {}, () => resolve());
    });
  // Listened for from the start: the primary may send the port while the startup still runs.
  const ordered = given !== null ? Promise.resolve(given) : new Promise<number>((resolve) => {
    const onOrder = (message: unknown) => {
      if (!isOrder(message) || message.lifespanPrimary !== "port") return;
      process.off("message", onOrder);
      resolve(message.port);
    };
    process.on("message", onOrder);
  });
  return {
    index,
    port: (interrupted) =>
      new Promise<number>((resolve, reject) => {
        const onInterrupt = () => reject(interrupted.reason);
        if (interrupted.aborted) return onInterrupt();
        interrupted.addEventListener("abort", onInterrupt, { once: true });
        void ordered.then((port) => {
          interrupted.removeEventListener("abort", onInterrupt);
          resolve(port);
        });
      }),
    listening: (port) => void send({ lifespanWorker: "listening", port }),
    failed: (error) =>
      send({
        lifespanWorker: "failed",
        message: messageOf(error),
        ...(error instanceof StartupError ? { hook: error.hook } : {}),
      }),
    async stopped(succeeded) {
      if (!process.connected) return;
      const released = new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          process.off("message", onOrder);
          process.off("disconnect", done);
          resolve();
        };
        const onOrder = (message: unknown) => {
          if (isOrder(message) && message.lifespanPrimary === "released") done();
        };
        const timer = setTimeout(done, RELEASE_WAIT_MS);
        process.on("message", onOrder);
        process.once("disconnect", done);
      });
      await send({ lifespanWorker: "stopped", succeeded });
      await released;
    },
    maxRequestsReached: (requests) => void send({ lifespanWorker: "maxRequests", requests }),
    onStopRequest(requestStop) {
      const onOrder = (message: unknown) => {
        if (!isOrder(message)) return;
        if (message.lifespanPrimary === "stop") requestStop("the primary");
        else if (message.lifespanPrimary === "retire") requestStop(RETIRED);
      };
      const onGone = () => requestStop("the primary exiting");
      process.on("message", onOrder);
      process.once("disconnect", onGone);
      // Orders sent before now would have been lost: the primary kept them until this.
      void send({ lifespanWorker: "ready" });
      return () => {
        process.off("message", onOrder);
        process.off("disconnect", onGone);
        // A worker's loop would otherwise stay alive as long as the channel is open.
        process.channel?.unref();
      };
    },
  };
}
