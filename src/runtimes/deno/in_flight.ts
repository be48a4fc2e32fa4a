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
 * A handler still running: its request and start, and the `resolve` of the promise Deno waits
 * on, in a list of its own (linked through `previous` and `next`: no hashing, no allocation
 * besides the record, where a `Map` entry cost Deno ~800 instructions per request).
 */
class Running implements Started {
  previous: Running | undefined = undefined;
  next: Running | undefined = undefined;
  resolve: (response: Response) => void = noop;
  reject: (error: unknown) => void = noop;
  /** Whether it is still in the list: false once answered or cut. */
  listed = true;
  constructor(readonly request: Request, readonly startedAt: number) {}
}

const noop = () => {};

/** The record `new Promise()` hands its `resolve` and `reject` to: no closure per request. */
let entering: Running | undefined;
function enter(resolve: (response: Response) => void, reject: (error: unknown) => void): void {
  entering!.resolve = resolve;
  entering!.reject = reject;
}

/**
 * The requests a grace period may have to end: handlers still running, bodies still streaming.
 * Only async handlers and stream bodies are tracked; a string or byte response costs a lookup.
 */
export class InFlight {
  /**
   * The first of the handlers still running (the cut answers in their place), each with its
   * request and start, to name it if it is cut; `#runningCount` of them.
   */
  #running: Running | undefined;
  #runningCount = 0;
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
    return [...this.#listed(), ...this.#streams.values()].map((
      { request, startedAt },
    ) => ({ method: request.method, url: request.url, startedAt }));
  }

  /** Ends every tracked request; later ones are cut as they come. */
  cutAll(reason: Error): void {
    this.reason = reason;
    for (const running of this.#listed()) {
      running.listed = false;
      running.resolve(InFlight.cutResponse(reason));
    }
    this.#running = undefined;
    this.#runningCount = 0;
    for (const cut of this.#streams.keys()) cut(reason);
    this.#streams.clear();
    this.#checkIdle();
  }

  /** Resolves once no handler is running and no stream body is being sent. */
  idle(): Promise<void> {
    if (this.#runningCount === 0 && this.#streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle = resolve);
  }

  /** How many requests are tracked. */
  get size(): number {
    return this.#runningCount + this.#streams.size;
  }

  /** The handlers still running, the oldest first (the list holds the newest first). */
  #listed(): Running[] {
    const list: Running[] = [];
    for (let running = this.#running; running !== undefined; running = running.next) {
      list.push(running);
    }
    return list.reverse();
  }

  /** Takes `running` off the list; false when it was off already (cut). */
  #unlist(running: Running): boolean {
    if (!running.listed) return false;
    running.listed = false;
    const { previous, next } = running;
    if (previous === undefined) this.#running = next;
    else previous.next = next;
    if (next !== undefined) next.previous = previous;
    this.#runningCount--;
    return true;
  }

  #checkIdle(): void {
    if (this.#idle !== undefined && this.#runningCount === 0 && this.#streams.size === 0) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  // The one cost on the hot path: a promise Deno waits on instead of the handler's, so that
  // the cut can settle it. Kept to that promise, the two callbacks it needs, and the record of
  // the request (in the list of those running) for the warning that names it if it is cut.
  #race(request: Request, pending: Promise<Response>): Promise<Response> {
    const running = new Running(request, Date.now());
    const first = this.#running;
    if (first !== undefined) {
      running.next = first;
      first.previous = running;
    }
    this.#running = running;
    this.#runningCount++;
    entering = running;
    const promise = new Promise<Response>(enter);
    entering = undefined;
    pending.then(
      (response) => {
        if (this.#unlist(running)) {
          // A body that cannot be read (already locked) must fail the request, not hang it.
          try {
            running.resolve(this.#track(request, response, running.startedAt));
          } catch (error) {
            running.reject(error);
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
        if (this.#unlist(running)) {
          running.reject(error);
          this.#checkIdle();
        }
      },
    );
    return promise;
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
