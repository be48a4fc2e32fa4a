/**
 * What is at a unix socket's path before the server binds it. A socket file outlives the
 * process that bound it when that process is killed (SIGKILL, a crash, a power cut), and every
 * runtime refuses to bind over it (`EADDRINUSE`): the next start must remove it, without ever
 * taking the path from a process that still listens there.
 *
 * @module
 */
import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";

/**
 * Makes `path` free to bind: nothing there, or a socket nobody listens on (removed). Rejects
 * with the reason, for `Cannot listen on unix:…` to be prefixed, when a file that is not a
 * socket is there, or a live process listens on the socket.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if (codeOf(error) === "ENOENT") return;
    throw error;
  }
  if (!isSocket) throw new Error("a file that is not a socket is at that path");
  if (await listened(path)) {
    throw Object.assign(new Error("another process listens on it (EADDRINUSE)"), {
      code: "EADDRINUSE",
    });
  }
  try {
    await unlink(path);
  } catch (error) {
    if (codeOf(error) !== "ENOENT") throw error; // gone meanwhile: free all the same
  }
}

/** Whether a process accepts connections on the socket at `path`. */
function listened(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      // Closed gently (half-closed, read to its end): a reset or a write refused could make
      // the other process log an error, or crash on it.
      socket.on("error", () => {}).resume().end();
      socket.setTimeout(1000, () => socket.destroy()).unref();
      resolve(true);
    });
    socket.once("error", (error) => {
      const code = codeOf(error);
      // Refused: the file is left from a process that died. EAGAIN: its backlog is full, so it
      // listens (and is busy).
      if (code === "ECONNREFUSED" || code === "ENOENT") resolve(false);
      else if (code === "EAGAIN") resolve(true);
      else reject(error);
    });
  });
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
