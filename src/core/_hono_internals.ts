/**
 * The private internals of Hono that `App` relies on, in one place: the `errorHandler` field
 * every Hono app has (set by `onError()`, private in Hono's types only), and the way `route()`
 * reads it on the app it mounts. Each is checked at its first use: `honoInternals` says
 * whether they hold, `App` falls back where they do not, and `tests/internals.test.ts` fails
 * naming the one a Hono upgrade broke.
 *
 * @module
 */
import { Hono } from "hono";
import type { ErrorHandler } from "hono/types";

/** `errorHandler`: a field of every Hono app, private in Hono's types only. */
type WithErrorHandler = { errorHandler?: unknown };

/** What Hono's default error handler does (Hono 4.7 to 4.13), for when it cannot be read. */
const fallbackErrorHandler: ErrorHandler = (error, c) => {
  if ("getResponse" in error && typeof error.getResponse === "function") {
    const response: Response = error.getResponse();
    return c.newResponse(response.body, response);
  }
  console.error(error);
  return c.text("Internal Server Error", 500);
};

function readErrorHandler(app: object): ErrorHandler | undefined {
  const handler = (app as WithErrorHandler).errorHandler;
  return typeof handler === "function" ? handler as ErrorHandler : undefined;
}

/**
 * `app.errorHandler` holds the handler `onError()` was given, starting with Hono's default;
 * and `route()` copies a sub-app's handlers as they are while the sub-app has Hono's default,
 * so that its errors reach the parent's handler. Checked by mounting a sub-app, its handler
 * set to the default, on a parent with a handler of its own, and sending it a request whose
 * handler throws.
 */
function checkErrorHandler(): boolean {
  try {
    const defaultHandler = readErrorHandler(new Hono());
    if (defaultHandler === undefined) return false;
    const own: ErrorHandler = (_, c) => c.text("sub-app", 500);
    const sub = new Hono().onError(own);
    if (readErrorHandler(sub) !== own) return false;
    sub.get("/", () => {
      throw new Error("checking Hono's errorHandler");
    });
    const parent = new Hono().onError((_, c) => c.text("parent", 503));
    (sub as object as WithErrorHandler).errorHandler = defaultHandler;
    parent.route("/", sub);
    // Answered at once: the handler threw synchronously, and no middleware is in the way.
    const response = parent.request("/");
    return response instanceof Response && response.status === 503;
  } catch {
    return false;
  }
}

let errorHandlerHolds: boolean | undefined;

/**
 * Which internals hold with this Hono, by the name a test reports. Checked at the first mount
 * (or read), not at load: an app that mounts nothing pays nothing for it at startup.
 */
export const honoInternals: { readonly "Hono#errorHandler": boolean } = {
  get "Hono#errorHandler"() {
    return errorHandlerHolds ??= checkErrorHandler();
  },
};

/**
 * Hono's default error handler, which `console.error`s what a handler threw and answers 500
 * (or the response of an `HTTPException`); an equivalent where it cannot be read.
 */
export const honoErrorHandler: ErrorHandler = readErrorHandler(new Hono()) ??
  fallbackErrorHandler;

/**
 * Calls `mount` (the parent's `route()`) with `subApp`'s error handler set to Hono's default
 * if `inherits` says its own is one the parent's should replace, and restores it after: the
 * mounted routes then carry no handler of their own, and their errors reach the parent's.
 * Where the internals do not hold, `mount` runs as it is (the sub-app keeps its handler).
 */
export function mountInheritingErrors<T>(
  subApp: object,
  inherits: (handler: ErrorHandler) => boolean,
  mount: () => T,
): T {
  if (!honoInternals["Hono#errorHandler"]) return mount();
  const own = readErrorHandler(subApp);
  if (own === undefined || !inherits(own)) return mount();
  const sub = subApp as WithErrorHandler;
  sub.errorHandler = honoErrorHandler;
  try {
    return mount();
  } finally {
    sub.errorHandler = own;
  }
}
