/**
 * The private internals of Node and `@hono/node-server` that the Node runtime relies on, in one
 * place. Each is checked when this module loads: `internals` says which ones hold, the runtime
 * falls back where one does not, and `tests/internals.test.ts` fails naming the one a Node or
 * `@hono/node-server` upgrade broke.
 *
 * @module
 */
import { IncomingMessage, type Server, ServerResponse } from "node:http";
import { Server as NetServer, Socket } from "node:net";

type WithMessage = Socket & { _httpMessage?: ServerResponse | null };

/**
 * `socket._httpMessage`: the response in flight on a connection, as http-terminator reads it.
 * Checked by assigning a response to a socket that was never connected.
 */
function checkHttpMessage(): boolean {
  try {
    const socket = new Socket();
    const response = new ServerResponse(new IncomingMessage(socket));
    response.assignSocket(socket);
    const assigned = (socket as WithMessage)._httpMessage === response;
    response.detachSocket(socket);
    socket.destroy();
    return assigned && (socket as WithMessage)._httpMessage == null;
  } catch {
    return false;
  }
}

/** Which internals hold on this runtime, by the name a test reports. */
export const internals: { readonly "socket._httpMessage": boolean } = {
  "socket._httpMessage": checkHttpMessage(),
};

/** The response in flight on `socket`, if known (see `internals`). */
export function responseOn(socket: Socket): ServerResponse | undefined {
  return (socket as WithMessage)._httpMessage ?? undefined;
}

/**
 * Stops `server` accepting and calls `closed` once its last connection is gone, as
 * `server.close()` does, but without the first thing that one does: closing the connections
 * it takes for idle, which include one whose response has ended but is still being written (a
 * large body to a slow reader): Node checks `response.finished`, true once `end()` was called.
 * The listener's drain closes idle connections itself (see `idle`). Falls back to
 * `server.close()` where `socket._httpMessage` does not hold.
 */
export function stopAccepting(server: NetServer, closed: () => void): void {
  if (internals["socket._httpMessage"]) NetServer.prototype.close.call(server, () => closed());
  else server.close(() => closed());
}

/** Whether `socket` carries no response still being sent: none, or one written in full. */
export function idle(socket: Socket): boolean {
  const response = (socket as WithMessage)._httpMessage;
  return response == null || response.writableFinished;
}

/**
 * `@hono/node-server` wires its WebSocket upgrades (it calls the app, then hands the accepted
 * socket to `ws`) only to the `upgrade` event of a server that its `createAdaptorServer` makes.
 * So one is made and never listens, and the listening server hands it the WebSocket upgrades
 * it gets. Checked where it is made (at the first upgrade, with `ws` loaded): it must have
 * wired exactly one `upgrade` listener, since it writes its refusals only while it is the one.
 */
export function honoUpgradeTarget(server: Server): Server {
  if (server.listenerCount("upgrade") !== 1) {
    throw new Error(
      "@hono/node-server's createAdaptorServer did not wire one upgrade listener: " +
        "its WebSocket helper changed; see src/runtimes/node/_internals.ts",
    );
  }
  return server;
}
