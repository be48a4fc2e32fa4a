/**
 * The house rules a change could break without any behaviour test noticing: imports run one
 * way (entries → app → server → runtimes → core, testing → core), with no circle; each runtime
 * has the same files; a public entry exports the public API and nothing else.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every product source file (tests excluded), relative to the root. */
function sources(dir = "src"): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const entries = ["mod.ts", "deno.ts", "bun.ts", "node.ts", "testing.ts", "cli.ts"];

/** The relative imports of `file` (static, type-only and dynamic), as root-relative paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const specifiers = [
    ...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms),
    ...text.matchAll(/\bimport\(\s*"(\.[^"]+)"\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(root, resolve(root, dirname(file), specifier)));
}

/** The layer of a file: what it may import is decided by it. */
function layerOf(file: string): string {
  if (entries.includes(file)) return "entry";
  if (file === "src/app.ts") return "app";
  return file.split("/")[1]!; // core, server, runtimes, testing
}

/** Which layers each layer may import (besides itself). */
const allowed: Record<string, string[]> = {
  entry: ["app", "server", "runtimes", "core", "testing"],
  app: ["server", "core", "testing"],
  server: ["runtimes", "core"],
  runtimes: ["core"],
  testing: ["core"],
  core: [],
};

const graph = new Map([...entries, ...sources()].map((file) => [file, importsOf(file)]));

describe("the architecture", () => {
  test("imports run one way: each layer imports only the layers below it", () => {
    const wrong = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) =>
          layerOf(target) !== layerOf(file) && !allowed[layerOf(file)]!.includes(layerOf(target))
        )
        .map((target) => `${file} → ${target}`)
    );
    assert.deepEqual(wrong, []);
  });

  test("no import circle in the product code", () => {
    const circles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(circles, []);
  });

  test("the core knows no runtime: no Deno, Bun or process global", () => {
    const found = sources("src/core").filter((file) =>
      /\b(Deno|Bun)\.\w|\bprocess\.\w|from "node:process"/.test(
        readFileSync(join(root, file), "utf8").replace(/^\s*(\/\/|\*).*$/gm, ""),
      )
    );
    assert.deepEqual(found, []);
  });

  test("each runtime has the same files, and a listen file under 150 lines", () => {
    // sent.ts: what each tells the access log of a response sent.
    const shape = ["listen.ts", "runtime.ts", "sent.ts", "websocket.ts", "worker.ts"];
    // entry.ts where the runtime serves a default export by itself; private internals in
    // _internals.ts; Deno's and Bun's in-flight requests in in_flight.ts; Node's connections
    // (HTTP/1 sockets and HTTP/2 sessions, which its drain tracks itself) in connections.ts.
    const extra = {
      node: ["_internals.ts", "connections.ts"],
      deno: ["_internals.ts", "entry.ts", "in_flight.ts"],
      bun: ["entry.ts", "in_flight.ts"],
    };
    for (const [runtime, more] of Object.entries(extra)) {
      const files = readdirSync(join(root, "src/runtimes", runtime))
        .filter((name) => !name.endsWith(".test.ts"));
      assert.deepEqual(files.sort(), [...shape, ...more].sort(), runtime);
      const lines = readFileSync(join(root, "src/runtimes", runtime, "listen.ts"), "utf8")
        .split("\n").length;
      assert.ok(lines < 150, `src/runtimes/${runtime}/listen.ts has ${lines} lines`);
    }
  });

  test("each public entry exports the public API and nothing else", () => {
    /** What `testing.ts` exports; the root entry exports it too. */
    const testingNames = [
      "Query",
      "TestApp",
      "TestAppOptions",
      "TestClient",
      "TestClientOptions",
      "TestRequestInit",
      "TestTarget",
      "TestWebSocket",
      "TestWebSocketData",
      "TestWebSocketInit",
      "TestWebSocketMessage",
    ];
    const pinned = {
      "mod.ts": [
        ...testingNames,
        "AccessLogOptions",
        "App",
        "AppOptions",
        "AppState",
        "BackgroundTask",
        "currentApp",
        "CutRequest",
        "DIAGNOSTICS_CHANNELS",
        "Fetchable",
        "g",
        "Globals",
        "HealthOptions",
        "Hook",
        "HookMessage",
        "HookTiming",
        "LifespanEnv",
        "LifespanError",
        "ListenInfo",
        "LogFields",
        "Logger",
        "PhaseMessage",
        "PhaseOptions",
        "run",
        "serve",
        "ServeOptions",
        "Server",
        "ServerMessage",
        "ServingGenerator",
        "ShutdownError",
        "StartupError",
        "TlsOptions",
        "upgradeWebSocket",
        "UpgradeWebSocketOptions",
      ],
      "deno.ts": ["Fetchable", "run", "serve", "ServeOptions", "Server"],
      "bun.ts": ["Fetchable", "run", "serve", "ServeOptions", "Server"],
      "node.ts": ["Fetchable", "run", "serve", "ServeOptions", "Server"],
      "testing.ts": testingNames,
      // A command, not a library: it exports nothing.
      "cli.ts": [],
    };
    const deno = join(root, "node_modules", ".bin", "deno");
    for (const [entry, names] of Object.entries(pinned)) {
      const { stdout, status, stderr } = spawnSync(deno, ["doc", "--json", entry], {
        cwd: root,
        encoding: "utf8",
      });
      assert.equal(status, 0, stderr);
      const { nodes } = JSON.parse(stdout) as {
        nodes: Record<string, { symbols?: { name: string }[] }>;
      };
      const exported = Object.values(nodes).flatMap((node) => node.symbols ?? [])
        .map((symbol) => symbol.name);
      const sort = (list: string[]) => [...list].sort((a, b) => a.localeCompare(b));
      assert.deepEqual(sort(exported), sort(names), entry);
    }
  });
});
