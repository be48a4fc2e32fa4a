/**
 * examples/nginx: a real nginx in front of the app, on the unix socket the command line serves
 * (`lifespan-hono --unix`), with the example's own `app.conf`: requests pass through, and a
 * request in flight at SIGTERM is answered in full through nginx. Skipped where nginx is not
 * installed, unless `NGINX_REQUIRED=1` (.ci/run installs it and sets it).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Child } from "./child.ts";
import { runtimeName, scriptCommand } from "./helpers.ts";
import { freePort, get, getOnceUp } from "./http.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find(existsSync) ??
  (spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).stdout.trim() || undefined);
const missing = nginx === undefined && "nginx is not installed (apt-get install nginx-light)";
if (missing && process.env.NGINX_REQUIRED) throw new Error(`NGINX_REQUIRED: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), "lifespan-nginx-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** nginx's main configuration around the example's `app.conf`, made to run as this user. */
function nginxConfig(socket: string, port: number): string {
  const site = readFileSync(join(root, "examples/nginx/app.conf"), "utf8")
    .replace("unix:/run/app/app.sock", `unix:${socket}`)
    .replace("listen 80;", `listen 127.0.0.1:${port};`);
  assert.ok(
    site.includes(socket) && site.includes(`:${port};`),
    "app.conf has its socket and port",
  );
  writeFileSync(join(dir, "app.conf"), site);
  // As root, nginx's workers would run as nobody, who may not write to the app's socket.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  return `${user}
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  include ${dir}/app.conf;
}
`;
}

describe(`examples/nginx on ${runtimeName}`, { skip: missing }, () => {
  test("nginx passes requests to the unix socket; one in flight at SIGTERM is answered in full", {
    timeout: 60_000,
  }, async () => {
    const socket = join(dir, "app.sock");
    const [command, args] = scriptCommand(join(root, "cli.ts"));
    await using app = new Child(
      [command, [...args, "--unix", socket, "examples/nginx/app.ts"]],
      {},
      root,
    );
    assert.equal(await app.url(), `unix:${socket}`);
    const port = await freePort();
    writeFileSync(join(dir, "nginx.conf"), nginxConfig(socket, port));
    await using proxy = new Child([nginx!, ["-p", dir, "-c", join(dir, "nginx.conf")]]);
    const url = `http://127.0.0.1:${port}`;
    assert.deepEqual(await getOnceUp(`${url}/`, proxy), { status: 200, body: "Hello 127.0.0.1" });

    const report = get(`${url}/report?ms=500`);
    await app.waitFor(/^Building the report$/);
    app.kill("SIGTERM");
    assert.deepEqual(await report, { status: 200, body: "The report" });
    const exit = await app.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(exit.stdout.includes("Counter closed after 2 requests"), exit.stdout.join("\n"));
    assert.equal(existsSync(socket), false, "the socket file is removed at shutdown");
    // The app is gone: nginx answers for it.
    assert.equal((await get(`${url}/`)).status, 502);
    proxy.kill("SIGTERM");
    await proxy.exited;
  });
});
