import { App, serve } from "../../mod.ts";
const lines: unknown[] = [];
const logger = { debug() {}, info: (m: string, f?: unknown) => { if (f && (f as any).method) lines.push([m, f]); }, warn: console.warn, error: (m: string) => lines.push(["error", m]) };
const app = new App({ logger });
app.get("/x", (c) => c.text("héllo"));
app.post("/echo", async (c) => c.text(await c.req.text()));
app.get("/stream", () => new Response(new ReadableStream({ async start(c) { for (let i = 0; i < 3; i++) { c.enqueue(new TextEncoder().encode("chunk")); await new Promise(r => setTimeout(r, 30)); } c.close(); } })));
app.get("/fail", () => { throw new Error("boom"); });
app.get("/plain", () => new Response("abc"));
const server = await serve(app, { port: 0, accessLog: true, handleSignals: false });
const t0 = performance.now();
for (const [p, init] of [["/x?secret=1", {}], ["/echo", { method: "POST", body: "12345" }], ["/stream", {}], ["/nope", {}], ["/fail", {}], ["/plain", {}], ["/x", { method: "HEAD" }]] as const) {
  const r = await fetch(server.url + p, init as RequestInit); await r.text();
}
await new Promise(r => setTimeout(r, 50));
await server.shutdown();
console.log(JSON.stringify(lines, null, 0).replaceAll("],[", "],\n["));
