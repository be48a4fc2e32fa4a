#!/usr/bin/env node
/**
 * The command line: `lifespan-hono [options] <module>[:<export>]` serves the app a module
 * exports (its default export, or a named one) with its lifespan, as `hypercorn module:app`
 * does for a Python app, on Node, Deno and Bun. Each option is the kebab-case name of a
 * `serve()` option (`--port`, `--host`, `--unix`, `--workers`, `--graceful-timeout`, …);
 * `--help` lists them. A usage error (an unknown flag, a bad value, a missing module) exits 2
 * with nothing started.
 *
 * ```sh
 * npx lifespan-hono app.ts --port 8000 --workers auto        # Node 22.18+ (tsx before)
 * bunx --bun lifespan-hono app.ts:api --unix /run/app.sock
 * deno run -A jsr:@lifespan/hono/cli app.ts --access-log
 * ```
 *
 * @module
 */
import process from "node:process";
import { runCommandLine } from "./src/server/cli.ts";
import { detectRuntime } from "./src/server/runtime.ts";

await runCommandLine(process.argv.slice(2), await detectRuntime());
