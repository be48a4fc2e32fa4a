/**
 * Checks for options: misuse is a `TypeError` that names the option and the value it got.
 *
 * @module
 */

/** A short, safe rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "an array";
  return `an object`;
}

/** `value` if it is a duration in milliseconds (Infinity allowed), else a `TypeError`. */
export function checkDuration(name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new TypeError(
      `${name} must be a non-negative number of milliseconds, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** `value` if it is a function, else a `TypeError` naming `name`. */
export function checkFunction<F>(name: string, value: F): F {
  if (typeof value !== "function") {
    throw new TypeError(`${name} expects a function, got ${describeValue(value)}`);
  }
  return value;
}

/** Rejects keys of `options` that `known` does not list: a misspelt option is misuse. */
export function checkKnownOptions(
  what: string,
  options: object,
  known: readonly string[],
): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown ${what} option ${JSON.stringify(key)}`);
    }
  }
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** `value` if it is a console-shaped logger, else a `TypeError` naming `name`. */
export function checkLogger<L>(name: string, value: L): L {
  const missing = typeof value === "object" && value !== null
    ? LOG_LEVELS.filter((level) => typeof (value as Record<string, unknown>)[level] !== "function")
    : LOG_LEVELS;
  if (missing.length > 0) {
    throw new TypeError(
      `${name} must be an object with debug, info, warn and error methods, got ${
        describeValue(value)
      }${typeof value === "object" && value !== null ? ` without ${missing.join(", ")}` : ""}`,
    );
  }
  return value;
}
