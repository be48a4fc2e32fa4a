/**
 * A chat room over WebSockets: what one client sends to `/ws` goes to every client. The room
 * (the set of open sockets) lives on `app.state`: made in a `whileServing` generator, and
 * closed after the server has said goodbye (1001) to every socket at shutdown. `main.ts` runs
 * it; `GET /` is a page to chat from a browser.
 */
import type { WSContext } from "hono/ws";
import { App, upgradeWebSocket } from "@lifespan/hono";

/** The open sockets and their names; everything said goes to all of them. */
export class Room {
  readonly #members = new Map<WSContext, string>();
  #relayed = 0;

  /** How many are connected. */
  get size(): number {
    return this.#members.size;
  }

  /** How many messages were relayed since the room opened. */
  get relayed(): number {
    return this.#relayed;
  }

  join(ws: WSContext, name: string): void {
    this.#members.set(ws, name);
    this.broadcast(`* ${name} joined (${this.size} here)`);
  }

  say(ws: WSContext, text: string): void {
    this.#relayed++;
    this.broadcast(`${this.#members.get(ws) ?? "?"}: ${text}`);
  }

  leave(ws: WSContext): void {
    const name = this.#members.get(ws);
    if (name === undefined || !this.#members.delete(ws)) return;
    this.broadcast(`* ${name} left`);
  }

  broadcast(text: string): void {
    for (const member of this.#members.keys()) member.send(text);
  }

  /** Closes whatever is still open; after the server's drain, that is nobody. */
  close(): void {
    for (const member of this.#members.keys()) member.close(1001, "Room closed");
    this.#members.clear();
  }
}

export const app: App<{ State: { room: Room } }> = new App<{ State: { room: Room } }>();

app.whileServing(function* chatRoom() {
  const room = new Room();
  app.state.room = room;
  console.log("Chat room open");
  // Shutdown aborts app.signal before it closes the sockets: a last word reaches everyone.
  const goodbye = () => room.broadcast("* the server is shutting down");
  app.signal.addEventListener("abort", goodbye, { once: true });
  try {
    yield; // the app serves here; at shutdown every socket's onClose has run when it resumes
  } finally {
    app.signal.removeEventListener("abort", goodbye);
    room.close();
    console.log(`Chat room closed: ${room.relayed} message(s) relayed`);
  }
});

// #region route
app.get(
  "/ws",
  upgradeWebSocket((c) => {
    const name = c.req.query("name")?.slice(0, 20) || "anonymous";
    return {
      onOpen: (_event, ws) => app.state.room.join(ws, name),
      onMessage: (event, ws) => {
        if (typeof event.data === "string") app.state.room.say(ws, event.data.slice(0, 500));
      },
      onClose: (_event, ws) => app.state.room.leave(ws),
    };
  }),
);
// #endregion route

app.get("/stats", (c) => c.json({ online: app.state.room.size, relayed: app.state.room.relayed }));

app.get("/", (c) => c.html(PAGE));

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Chat</title>
<pre id="log"></pre>
<form id="form"><input id="text" autofocus autocomplete="off"> <button>Send</button></form>
<script>
  const name = prompt("Your name") || "anonymous";
  const ws = new WebSocket(\`\${location.origin.replace("http", "ws")}/ws?name=\${encodeURIComponent(name)}\`);
  const log = (line) => document.getElementById("log").append(line + "\\n");
  ws.onmessage = (event) => log(event.data);
  ws.onclose = (event) => log(\`(closed: \${event.code} \${event.reason})\`);
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    const text = document.getElementById("text");
    ws.send(text.value);
    text.value = "";
  };
</script>
`;
