/**
 * The requests a Deno server's drain may have to cut: `Deno.serve`'s `shutdown()` waits for
 * them with no limit and no way to force it, so the runtime ends them itself.
 *
 * @module
 */
import type { InFlightRequest } from "../../core/drain.ts";
import { closingConnection } from "../responses.ts";
import { hasStreamBody } from "./_internals.ts";

/** A request, and when its handler was called (by `Date.now()`). */
interface Started {
  readonly request: Request;
  readonly startedAt: number;
}

/**
 * The requests a grace period may have to end: handlers still running, bodies still streaming.
 * Only async handlers and stream bodies are tracked; a string or byte response costs a lookup.
 */
export class InFlight {
  /**
   * The `resolve` of each handler still running (the cut answers in its place), with its
   * request and start, to name it if it is cut.
   */
  readonly #running = new Map<(response: Response) => void, Started>();
  /** Ends one stream body still being sent, with the reason given; with its request. */
  readonly #streams = new Map<(reason: Error) => void, Started>();
  /** Set once the grace period is over: what cut requests fail with. */
  reason: Error | undefined;
  /** Set when the drain begins: responses from then on ask the client to close. */
  draining = false;
  /** Resolves `idle()`'s promise once nothing is tracked. */
  #idle: (() => void) | undefined;

  /** Answers now with a 503 whose body fails, so that the client sees the response break. */
  static cutResponse(reason: Error): Response {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.error(reason),
    });
    return new Response(body, { status: 503 });
  }

  /**
   * Tracks what the handler of `request` returned, until sent or cut. The clock is read only for
   * what is tracked (an async handler, a stream body), once the handler has returned: what it
   * did until its first `await` takes no time worth telling.
   */
  serve(request: Request, result: Response | Promise<Response>): Response | Promise<Response> {
    return result instanceof Promise ? this.#race(request, result) : this.#track(request, result);
  }

  /** The requests tracked, for the drain to count and name. */
  requests(): InFlightRequest[] {
    return [...this.#running.values(), ...this.#streams.values()].map((
      { request, startedAt },
    ) => ({ method: request.method, url: request.url, startedAt }));
  }

  /** Ends every tracked request; later ones are cut as they come. */
  cutAll(reason: Error): void {
    this.reason = reason;
    for (const resolve of this.#running.keys()) resolve(InFlight.cutResponse(reason));
    for (const cut of this.#streams.keys()) cut(reason);
    this.#running.clear();
    this.#streams.clear();
    this.#checkIdle();
  }

  /** Resolves once no handler is running and no stream body is being sent. */
  idle(): Promise<void> {
    if (this.#running.size === 0 && this.#streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle = resolve);
  }

  /** How many requests are tracked. */
  get size(): number {
    return this.#running.size + this.#streams.size;
  }

  #checkIdle(): void {
    if (this.#idle !== undefined && this.#running.size === 0 && this.#streams.size === 0) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  // The one cost on the hot path: a promise Deno waits on instead of the handler's, so that
  // the cut can settle it. Kept to that promise, the two callbacks it needs, and the record of
  // the request for the warning that names it if it is cut.
  #race(request: Request, pending: Promise<Response>): Promise<Response> {
    const running = this.#running;
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      running.set(resolve, { request, startedAt });
      pending.then(
        (response) => {
          if (running.delete(resolve)) {
            // A body that cannot be read (already locked) must fail the request, not hang it.
            try {
              resolve(this.#track(request, response, startedAt));
            } catch (error) {
              reject(error);
            }
            this.#checkIdle();
          } else if (hasStreamBody(response)) {
            // Already cut: nobody reads this body, so let its producer stop.
            response.body?.cancel(this.reason).catch(() => {});
          }
        },
        (error: unknown) => {
          // After a cut the client is gone, and the error is most likely the cut's echo
          // (an aborted request signal): only a request still waiting gets it.
          if (running.delete(resolve)) {
            reject(error);
            this.#checkIdle();
          }
        },
      );
    });
  }

  #track(request: Request, response: Response, startedAt?: number): Response {
    if (this.draining) response = closingConnection(response);
    if (!hasStreamBody(response)) return response;
    const body = this.#cuttable({ request, startedAt: startedAt ?? Date.now() }, response.body!);
    return new Response(body, response);
  }

  /** `body`, read through a stream that fails when cut and cancels `body` then. */
  #cuttable(started: Started, body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const cuts = this.#streams;
    const reader = body.getReader();
    let cut: (reason: Error) => void;
    let ended = false;
    const end = () => {
      ended = true;
      cuts.delete(cut);
      this.#checkIdle();
    };
    return new ReadableStream<Uint8Array>({
      start(controller) {
        cut = (reason) => {
          ended = true;
          controller.error(reason);
          reader.cancel(reason).catch(() => {});
        };
        cuts.set(cut, started);
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (ended) return;
          if (done) {
            end();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          if (ended) return;
          end();
          controller.error(error);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
}
