/**
 * The private internals of Deno that the Deno runtime relies on, in one place, each checked
 * when this module loads: `internals` says which ones hold, the runtime falls back where one
 * does not, and `tests/internals.test.ts` fails naming the one a Deno upgrade broke.
 *
 * @module
 */

/**
 * Deno sends string and byte bodies on a native fast path that wrapping them would lose, and
 * `response.body`, the only public view of a body, turns a string into a stream as well. So
 * stream bodies are told apart by Deno's own record of the body (the slot behind the symbol
 * described "response", whose `body.streamOrStatic` is the stream or the static value),
 * checked once at load. Should a Deno release change that record, every body is taken for a
 * stream: slower, but never impossible to cut.
 */
const responseSlot = Object.getOwnPropertySymbols(new Response(null))
  .find((key) => key.description === "response");

function peekStreamBody(response: Response): boolean {
  const inner: unknown = responseSlot === undefined
    ? undefined
    : (response as unknown as Record<symbol, unknown>)[responseSlot];
  const body: unknown = (inner as { body?: unknown } | undefined)?.body;
  return (body as { streamOrStatic?: unknown } | null | undefined)
    ?.streamOrStatic instanceof ReadableStream;
}

const slotHolds = peekStreamBody(new Response(new ReadableStream())) &&
  !peekStreamBody(new Response("static"));

/** Which internals hold on this runtime, by the name a test reports. */
export const internals: { readonly "Response[Symbol(response)].body.streamOrStatic": boolean } = {
  "Response[Symbol(response)].body.streamOrStatic": slotHolds,
};

/** Whether `response` has a stream body (a string or byte body has not). */
export const hasStreamBody: (response: Response) => boolean = slotHolds
  ? peekStreamBody
  : (response) => response.body !== null;
