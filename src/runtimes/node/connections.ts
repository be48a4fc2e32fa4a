/**
 * The connections of a Node server as its drain sees them (see `listen.ts`): HTTP/1
 * connections, idle or busy by the response in flight on each, and HTTP/2 sessions, whose
 * open streams are the requests in flight and which a GOAWAY drains.
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { Http2SecureServer, Http2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { InFlightRequest } from "../../core/drain.ts";
import { MAX_TIMER_DELAY } from "../../core/timers.ts";
import { idle, internals, responseOn } from "./_internals.ts";

/**
 * How long the drain leaves a connection that has sent nothing yet (ms): a client sends its
 * request right after connecting, within a round trip.
 */
const FIRST_REQUEST_WAIT = 500;

const STARTED: unique symbol = Symbol("startedAt");
type Started = IncomingMessage & { [STARTED]?: number };

/**
 * Notes when an HTTP/1 request began, for a cut to name it: all it needs (its method and URL
 * are on it already), no closure and no set; the requests in flight are found through their
 * connections.
 */
export function markStarted(incoming: IncomingMessage): void {
  (incoming as Started)[STARTED] = Date.now();
}

/** A server's connections, for its drain. */
export interface Connections {
  /**
   * Asks every client to close: HTTP/1 responses not yet sent get `connection: close`, idle
   * HTTP/1 connections close now and busy ones once their response is sent, and HTTP/2
   * sessions get GOAWAY (their streams finish; the client opens no new one on them).
   */
  drain(): void;
  /** Stops closing HTTP/1 connections as they go idle: the drain is over, or let go. */
  stopSweep(): void;
  /** Ends every connection now. */
  cut(): void;
  /** The open TCP connections. */
  readonly size: number;
  /** The requests in flight, for a cut to name. */
  requests(): InFlightRequest[];
}

/**
 * Tracks the connections of `server`. With `secure`, HTTP/1 responses travel on the TLS
 * sockets; with `http2`, an HTTP/2 session with no stream open for `sessionIdleTimeout` ms is
 * closed, as an idle keep-alive connection is (0: never).
 */
export function trackConnections(
  server: Server | Http2SecureServer,
  { secure, http2, sessionIdleTimeout }: {
    secure: boolean;
    http2: boolean;
    sessionIdleTimeout: number;
  },
): Connections {
  let draining = false;
  // Every TCP connection, for the cut: also those still in a TLS handshake or an upgrade,
  // which `closeAllConnections()` does not touch.
  const connections = new Map<Socket, number>();
  /** Tracks a socket in `set`, with when it was accepted, until it closes. */
  const track = (set: Map<Socket, number>) => (socket: Socket) => {
    set.set(socket, Date.now());
    socket.once("close", () => set.delete(socket));
  };
  server.on("connection", track(connections));
  // The sockets that carry HTTP/1 responses: with TLS, the TLS sockets. An HTTP/2 one has no
  // response of its own and would be taken for idle: its session drains it.
  const carriers = secure ? new Map<Socket, number>() : connections;
  if (secure) {
    const carry = track(carriers);
    server.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol !== "h2") carry(socket);
    });
  }
  // Upgraded sockets (WebSockets, or upgrades the app is still answering) are no HTTP
  // connections: they drain with the WebSockets, or are cut.
  const upgraded = new WeakSet<Duplex>();
  server.on("upgrade", (_incoming: IncomingMessage, socket: Duplex) => upgraded.add(socket));
  const closeIdle = internals["socket._httpMessage"]
    ? () => {
      const now = Date.now();
      for (const [socket, acceptedAt] of carriers) {
        if (upgraded.has(socket) || !idle(socket)) continue;
        // One that has sent nothing yet is a client whose first request is on its way (it
        // connected as the drain began, or node:cluster handed it over meanwhile): closed now,
        // it would get a reset for a request it sent. It is answered with `connection: close`;
        // only one still silent after a while (a browser's preconnect) is closed unanswered.
        if (socket.bytesRead === 0 && now - acceptedAt < FIRST_REQUEST_WAIT) continue;
        socket.destroy();
      }
    }
    : () => (server as Server).closeIdleConnections();
  let idleSweep: ReturnType<typeof setInterval> | undefined;
  const sessions = http2 ? trackSessions(server, sessionIdleTimeout, () => draining) : undefined;

  return {
    drain() {
      draining = true;
      for (const socket of carriers.keys()) {
        const outgoing = responseOn(socket);
        if (outgoing && !outgoing.headersSent) outgoing.setHeader("connection", "close");
      }
      for (const session of sessions?.keys() ?? []) session.close();
      // A connection whose response is still on its way goes idle once it is sent in full:
      // close it then, not at its keep-alive timeout. Polled during the drain only.
      closeIdle();
      idleSweep = setInterval(closeIdle, 10);
    },
    stopSweep: () => clearInterval(idleSweep),
    cut() {
      if ("closeAllConnections" in server) server.closeAllConnections();
      for (const session of sessions?.keys() ?? []) session.destroy();
      for (const socket of connections.keys()) socket.destroy();
    },
    get size() {
      return connections.size;
    },
    requests: () => [
      ...inFlight(carriers.keys()),
      ...[...sessions?.values() ?? []].flatMap((streams) => [...streams.values()]),
    ],
  };
}

/**
 * The HTTP/2 sessions of `server`, each with its open streams (the requests in flight). One
 * that opened during the drain (its TLS handshake was under way) gets GOAWAY at once.
 */
function trackSessions(
  server: Server | Http2SecureServer,
  idleTimeout: number,
  draining: () => boolean,
): Map<Http2Session, Map<object, InFlightRequest>> {
  const sessions = new Map<Http2Session, Map<object, InFlightRequest>>();
  // Node's own session timeout (`server.setTimeout()`) counts a stream whose handler sends
  // nothing as idle too, and ends the session under it: only sessions with no stream are idle.
  const closeWhenIdle = idleTimeout > 0 && idleTimeout <= MAX_TIMER_DELAY;
  (server as Http2SecureServer).on("session", (session) => {
    const streams = new Map<object, InFlightRequest>();
    sessions.set(session, streams);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idleFromNow = () => {
      if (closeWhenIdle) timer = setTimeout(() => session.close(), idleTimeout);
    };
    session.on("stream", (stream, headers) => {
      clearTimeout(timer);
      const method = headers[":method"] ?? "GET";
      const url = headers[":path"] ?? "/";
      streams.set(stream, { method, url, startedAt: Date.now() });
      stream.once("close", () => {
        streams.delete(stream);
        if (streams.size === 0 && !session.closed) idleFromNow();
      });
    });
    session.once("close", () => {
      clearTimeout(timer);
      sessions.delete(session);
    });
    if (draining()) session.close();
    else idleFromNow();
  });
  return sessions;
}

/** The HTTP/1 requests whose response is still on its way on `carriers` (none known without it). */
function inFlight(carriers: Iterable<Socket>): InFlightRequest[] {
  const requests: InFlightRequest[] = [];
  if (!internals["socket._httpMessage"]) return requests;
  for (const socket of carriers) {
    if (idle(socket)) continue;
    const { method = "GET", url = "/", [STARTED]: startedAt = Date.now() } = responseOn(
      socket,
    )!.req as Started;
    requests.push({ method, url, startedAt });
  }
  return requests;
}
