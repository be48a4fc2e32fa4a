/** HTTP helpers for tests of servers that a runtime binds itself. Not a test file itself. */
import { request as httpRequest } from "node:http";
import { connect, createServer } from "node:net";
import type { Child } from "./child.ts";

/** A port free now on 127.0.0.1, for a runtime that binds it itself. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on("error", reject);
  });
}

/** A GET over a fresh connection. */
export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode!, body }));
      response.on("error", reject);
    }).on("error", reject).end();
  });
}

/** A GET retried while the port refuses connections: the runtime is still starting. */
export async function getOnceUp(
  url: string,
  child: Child,
): Promise<{ status: number; body: string }> {
  for (let attempt = 0;; attempt++) {
    try {
      return await get(url);
    } catch (error) {
      const refused = (error as { code?: string }).code === "ECONNREFUSED";
      if (!refused || attempt === 300) throw error;
      const exited = await Promise.race([
        child.exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(resolve, 50, false)),
      ]);
      if (exited) throw new Error(`the child exited before listening:\n${child.stderr}`);
    }
  }
}

/** How many lines are exactly `line`. */
export function count(lines: string[], line: string): number {
  return lines.filter((printed) => printed.replace(/^\[serve-worker-\d+ *\] /, "") === line)
    .length;
}

/**
 * What a TCP connection to `port` on 127.0.0.1 finds now: `"refused"` when nothing listens,
 * `"accepted"`, or the code of another error. The connection is closed at once.
 */
export function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.once("error", (error: Error & { code?: string }) => {
      resolve(error.code === "ECONNREFUSED" ? "refused" : error.code ?? error.message);
    });
  });
}
