// The module-resolution hook scripts/hono-resolve.mjs registers: see there.
let parentURL;

export function initialize(data) {
  parentURL = data.packageJson;
}

export function resolve(specifier, context, nextResolve) {
  if (specifier === "hono" || specifier.startsWith("hono/")) {
    return nextResolve(specifier, { ...context, parentURL });
  }
  return nextResolve(specifier, context);
}
