/**
 * The command line, `lifespan-hono [options] <module>[:<export>]`: what `hypercorn module:app`
 * is for a Python app. A thin layer over `run()`: `node:util`'s `parseArgs` reads the flags
 * (each the kebab-case name of a `serve()` option), the module is imported, and its app goes
 * to the same `run()` as `app.run()`. Usage errors (an unknown flag, a bad value, a missing
 * module, a module with nothing to serve) are one line on stderr and exit code 2, with nothing
 * started.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { describeValue } from "../core/options.ts";
import type { Runtime } from "../runtimes/types.ts";
import { runOn } from "./serve.ts";
import type { Fetchable, ServeOptions } from "./types.ts";

/** The package's version, as deno.json has it (a test keeps the two the same). */
export const VERSION = "0.1.0";

/** The exit code of a usage error, as every command line tool has it. */
export const USAGE_EXIT_CODE = 2;

/** A mistake in the command line: its message is the one line printed, then exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** How a flag's text becomes a value. */
type Kind = "integer" | "milliseconds" | "text" | "workers" | "file" | "switch";

/** A flag: its name, the option it sets, and its line in `--help`. */
interface Flag {
  readonly name: string;
  readonly kind: Kind;
  /** The `serve()` option it sets (`cert` and `key` set `tls` together). */
  readonly option: keyof ServeOptions | "cert" | "key" | "accessLogQuery";
  /** What its value is, in `--help`: `--port N`. */
  readonly placeholder?: string;
  readonly help: string;
  /** The environment variable read when the flag is absent. */
  readonly env?: string;
}

const FLAGS: readonly Flag[] = [
  {
    name: "port",
    kind: "integer",
    option: "port",
    placeholder: "N",
    env: "PORT",
    help: "TCP port; 0 picks a free one [8000]",
  },
  {
    name: "host",
    kind: "text",
    option: "hostname",
    placeholder: "ADDRESS",
    help: "address to listen on [127.0.0.1]",
  },
  {
    name: "unix",
    kind: "text",
    option: "unix",
    placeholder: "PATH",
    help: "unix socket to listen on, instead of a port",
  },
  {
    name: "workers",
    kind: "workers",
    option: "workers",
    placeholder: "N|auto",
    env: "WEB_CONCURRENCY",
    help: "processes serving the app, auto: one per CPU [1]",
  },
  {
    name: "graceful-timeout",
    kind: "milliseconds",
    option: "gracefulTimeout",
    placeholder: "MS",
    help: "time requests in flight get at shutdown [3000]",
  },
  {
    name: "startup-timeout",
    kind: "milliseconds",
    option: "startupTimeout",
    placeholder: "MS",
    help: "time the startup hooks get [60000]",
  },
  {
    name: "shutdown-timeout",
    kind: "milliseconds",
    option: "shutdownTimeout",
    placeholder: "MS",
    help: "time each shutdown step gets [60000]",
  },
  {
    name: "shutdown-delay",
    kind: "milliseconds",
    option: "shutdownDelay",
    placeholder: "MS",
    help: "time to keep serving after a signal, readiness failing [0]",
  },
  {
    name: "keep-alive-timeout",
    kind: "milliseconds",
    option: "keepAliveTimeout",
    placeholder: "MS",
    help: "time an idle keep-alive connection stays open [5000; Bun 10000]",
  },
  {
    name: "health",
    kind: "text",
    option: "health",
    placeholder: "PATH",
    help: "answer readiness probes on PATH: 200 serving, 503 starting or stopping",
  },
  {
    name: "cert",
    kind: "file",
    option: "cert",
    placeholder: "FILE",
    help: "TLS certificate chain (PEM), with --key: serve HTTPS",
  },
  {
    name: "key",
    kind: "file",
    option: "key",
    placeholder: "FILE",
    help: "TLS private key (PEM), with --cert",
  },
  {
    name: "http2",
    kind: "switch",
    option: "http2",
    help: "serve HTTP/2 beside HTTP/1.1 (needs --cert and --key)",
  },
  {
    name: "access-log",
    kind: "switch",
    option: "accessLog",
    help: "log one line per request, without its query string",
  },
  {
    name: "access-log-query",
    kind: "switch",
    option: "accessLogQuery",
    help: "log the query string too (implies --access-log)",
  },
  {
    name: "max-requests",
    kind: "integer",
    option: "maxRequests",
    placeholder: "N",
    help: "replace a worker once it has answered N requests",
  },
  {
    name: "max-requests-jitter",
    kind: "integer",
    option: "maxRequestsJitter",
    placeholder: "N",
    help: "add 0 to N at random to each worker's limit [0]",
  },
];

/** What a command line asks for. */
export type CommandLine =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | {
    readonly kind: "serve";
    /** The module's path, as given. */
    readonly module: string;
    /** The export to serve: `default` unless `module:name` named one. */
    readonly exportName: string;
    readonly options: ServeOptions;
  };

/** `--help`: every flag, with its default and environment variable. */
export function helpText(): string {
  const rows: [string, string][] = FLAGS.map((flag) => [
    `--${flag.name}${flag.placeholder === undefined ? "" : ` ${flag.placeholder}`}`,
    flag.env === undefined ? flag.help : `${flag.help}; env ${flag.env}`,
  ]);
  rows.push(["-h, --help", "print this help"], ["-v, --version", "print the version"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    "Usage: lifespan-hono [options] <module>[:<export>]",
    "",
    "Serves the app a module exports (its default export, or the one named after the colon:",
    "an App, a Hono app or any object with a fetch method) with its lifespan: the startup",
    "hooks run before the first request; SIGINT or SIGTERM drains and runs the shutdown hooks.",
    "",
    "Options (defaults in brackets):",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    "",
  ].join("\n");
}

/**
 * Reads `args` (the arguments after the command) into what they ask for; `env` gives the
 * environment variables read for absent flags.
 *
 * @throws {UsageError} For an unknown flag, a bad value, or no module.
 */
export function parseCommandLine(
  args: readonly string[],
  env: (name: string) => string | undefined,
): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(
          FLAGS.map((flag) => [flag.name, { type: flag.kind === "switch" ? "boolean" : "string" }]),
        ) as Record<string, { type: "string" | "boolean" }>,
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs's own message goes on about positionals after `--`.
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(unknown === undefined ? message : `Unknown option ${unknown}`);
  }
  const { positionals } = parsed;
  const values: Record<string, string | boolean | undefined> = parsed.values;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "Missing the module to serve: lifespan-hono [options] <module>[:<export>]"
        : `Expected one module to serve, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const options: Record<string, unknown> = {};
  let cert: string | undefined;
  let key: string | undefined;
  for (const flag of FLAGS) {
    const given = values[flag.name];
    // serve() reads PORT itself (and not on a unix socket): the flag alone is passed on.
    const fromEnv = given === undefined && flag.env !== undefined && flag.option !== "port";
    const raw = fromEnv ? env(flag.env!) || undefined : given;
    if (raw === undefined || raw === false) continue;
    const from = fromEnv ? flag.env! : `--${flag.name}`;
    const value = convert(flag, raw, from);
    if (flag.option === "cert") cert = value as string;
    else if (flag.option === "key") key = value as string;
    else if (flag.option === "health") options.health = { path: value };
    else if (flag.option === "accessLogQuery") options.accessLog = { query: true };
    else if (flag.option === "accessLog") options.accessLog ??= true;
    else options[flag.option] = value;
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      `--${cert === undefined ? "key" : "cert"} needs --${cert === undefined ? "cert" : "key"} too`,
    );
  }
  if (cert !== undefined && key !== undefined) options.tls = { cert, key };
  const [module, exportName] = splitTarget(positionals[0]!);
  return { kind: "serve", module, exportName, options: options as ServeOptions };
}

/** `flag`'s value from its text (`from` names where the text came from, for the error). */
function convert(flag: Flag, raw: string | boolean, from: string): unknown {
  if (flag.kind === "switch") return true;
  const text = String(raw);
  const fail = (expected: string): never => {
    throw new UsageError(`${from} expects ${expected}, got ${describeValue(text)}`);
  };
  switch (flag.kind) {
    case "integer":
      return /^\d+$/.test(text) ? Number(text) : fail("a whole number");
    case "milliseconds":
      return /^\d+(\.\d+)?$/.test(text) ? Number(text) : fail("a number of milliseconds");
    case "workers":
      return text === "auto"
        ? "auto"
        : /^\d+$/.test(text)
        ? Number(text)
        : fail('a number or "auto"');
    case "file":
      try {
        return readFileSync(text, "utf8");
      } catch (error) {
        throw new UsageError(`${from}: cannot read ${text}: ${(error as Error).message}`);
      }
    default:
      return text === "" ? fail("a value") : text;
  }
}

/** `app.ts:api` → the module and the export; `app.ts` → the default export. */
function splitTarget(target: string): [string, string] {
  const colon = target.lastIndexOf(":");
  const name = target.slice(colon + 1);
  // A colon that is part of the path (`C:\app.ts`, `file:app.ts`) is followed by no name.
  if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(name)) return [target.slice(0, colon), name];
  return [target, "default"];
}

/** The app `namespace` exports as `exportName`, or a usage error that says what it found. */
export function servableExport(
  namespace: Record<string, unknown>,
  module: string,
  exportName: string,
): Fetchable {
  const isApp = (value: unknown) =>
    typeof (value as Partial<Fetchable> | null)?.fetch === "function";
  const value = namespace[exportName];
  if (!(exportName in namespace)) {
    const names = Object.keys(namespace);
    const apps = names.filter((name) => isApp(namespace[name]));
    const found = names.length === 0
      ? "it exports nothing"
      : `it exports ${names.join(", ")}; ${
        apps.length === 0 ? "none is an app" : `apps: ${apps.join(", ")}`
      }`;
    const hint = apps[0] === undefined ? "" : `: name one, as in ${module}:${apps[0]}`;
    const missing = exportName === "default" ? "default export" : `export ${exportName}`;
    throw new UsageError(`${module} has no ${missing} (${found})${hint}`);
  }
  if (!isApp(value)) {
    const what = exportName === "default"
      ? `the default export of ${module}`
      : `${module}:${exportName}`;
    throw new UsageError(
      `${what} is ${describeValue(value)}, not an app (an object with a fetch method)`,
    );
  }
  return value as Fetchable;
}

/**
 * Runs the command line `args` on `runtime`: serves the module's app until it stops, prints
 * the help or the version, or reports a usage error (exit 2).
 */
export async function runCommandLine(args: readonly string[], runtime: Runtime): Promise<void> {
  let command: CommandLine;
  let app: Fetchable;
  try {
    command = parseCommandLine(args, (name) => runtime.env(name));
    if (command.kind === "help") return void console.log(helpText());
    if (command.kind === "version") return void console.log(VERSION);
    app = servableExport(await importModule(command.module), command.module, command.exportName);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(error.message, runtime);
  }
  try {
    await runOn(runtime, app, command.options);
  } catch (error) {
    // run() rejects only bad options (a TypeError), before anything started.
    if (!(error instanceof TypeError)) throw error;
    usageError(error.message, runtime);
  }
}

function usageError(message: string, runtime: Runtime): never {
  console.error(`lifespan-hono: ${message} (lifespan-hono --help lists the options)`);
  return runtime.exit(USAGE_EXIT_CODE);
}

/** Imports the module at `path` (relative to the working directory). */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(`Cannot find module ${path} (no file at ${file})`);
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_UNKNOWN_FILE_EXTENSION") {
      throw new UsageError(
        `Cannot import ${path}: this Node does not run TypeScript by itself (Node 22.18 and ` +
          `later do): run it with tsx, NODE_OPTIONS="--import tsx" lifespan-hono ${path}`,
      );
    }
    throw error;
  }
}
