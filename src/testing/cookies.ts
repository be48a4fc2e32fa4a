/**
 * The test client's cookie jar: what `Set-Cookie` stored, sent back on the paths it covers
 * until it expires. Enough of RFC 6265 for an app talking to itself: one origin, so no
 * `Domain` or `Secure`.
 *
 * @module
 */

interface Cookie {
  value: string;
  path: string;
  expires: number;
}

/** Cookies by name, as a test client keeps them. */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  /** How many cookies are held (expired ones included until the next read). */
  get size(): number {
    return this.#cookies.size;
  }

  /** Stores (or, expired, removes) the cookie of one `Set-Cookie` header. */
  store(header: string, now: number = Date.now()): void {
    const [pair = "", ...attributes] = header.split(";");
    const separator = pair.indexOf("=");
    if (separator <= 0) return;
    const name = pair.slice(0, separator).trim();
    const cookie: Cookie = {
      value: pair.slice(separator + 1).trim(),
      path: "/",
      expires: Infinity,
    };
    for (const attribute of attributes) {
      const [key = "", value = ""] = attribute.split("=", 2).map((part) => part.trim());
      const lower = key.toLowerCase();
      if (lower === "path" && value.startsWith("/")) cookie.path = value;
      else if (lower === "max-age") cookie.expires = now + Number(value) * 1000;
      else if (lower === "expires" && cookie.expires === Infinity) {
        cookie.expires = Date.parse(value);
      }
    }
    if (cookie.expires <= now || Number.isNaN(cookie.expires)) this.#cookies.delete(name);
    else this.#cookies.set(name, cookie);
  }

  /**
   * The `Cookie` header value for a request to `pathname`: the cookies whose path covers it,
   * but those that the caller's own header `own` already names (the caller's value wins).
   */
  header(pathname: string, own: string | null = null, now: number = Date.now()): string {
    const named = own === null
      ? undefined
      : new Set(own.split(";").map((pair) => pair.slice(0, pair.indexOf("=")).trim()));
    const pairs: string[] = [];
    for (const [name, cookie] of this.#cookies) {
      if (cookie.expires <= now) this.#cookies.delete(name);
      else if (pathMatches(pathname, cookie.path) && !named?.has(name)) {
        pairs.push(`${name}=${cookie.value}`);
      }
    }
    return pairs.join("; ");
  }

  /** The cookies held now, by name. */
  values(now: number = Date.now()): Record<string, string> {
    this.header("/", null, now); // drops expired ones
    return Object.fromEntries([...this.#cookies].map(([name, cookie]) => [name, cookie.value]));
  }
}

/** Whether a cookie with path `cookiePath` is sent to `pathname` (RFC 6265, 5.1.4). */
function pathMatches(pathname: string, cookiePath: string): boolean {
  return pathname === cookiePath || cookiePath === "/" ||
    (pathname.startsWith(cookiePath) &&
      (cookiePath.endsWith("/") || pathname[cookiePath.length] === "/"));
}
