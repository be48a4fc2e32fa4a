/**
 * A bounded keep-alive load for the reload tests: a few clients, each sending one request after
 * another on its own connection, written over `node:net` so that no client library retries or
 * pools differently on each runtime. A connection is opened anew only when the server said
 * `Connection: close` or the last request failed; every failure is counted, by kind.
 * Not a test file itself.
 */
import { connect, type Socket } from "node:net";

/** How one request ended. */
export type Outcome =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly sentAt: number }
  | { readonly ok: false; readonly kind: string; readonly sentAt: number };

/** What a load saw: every outcome, in the order they ended. */
export interface LoadReport {
  readonly outcomes: readonly Outcome[];
  /** Requests answered, whatever the status. */
  readonly answered: number;
  /** Failed requests by kind, e.g. `{ "ECONNRESET on a reused connection": 2 }`. */
  readonly failures: Readonly<Record<string, number>>;
  /** Connections opened. */
  readonly connections: number;
}

interface Response {
  readonly status: number;
  readonly close: boolean;
  readonly body: string;
}

/** One keep-alive connection: writes requests, parses the responses (length or chunked). */
class Connection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #ended: string | undefined;
  #wake: (() => void) | undefined;
  /** Whether a response has been read on it: a failure then is one of a reused connection. */
  reused = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.#ended ??= error.code ?? error.message;
      this.#wake?.();
    });
    socket.on("end", () => {
      this.#ended ??= "EOF";
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#ended ??= "closed";
      this.#wake?.();
    });
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new Connection(socket));
      });
      socket.once("error", reject);
    });
  }

  async request(host: string, path: string): Promise<Response> {
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const head = await this.#until(() => {
      const end = this.#buffer.indexOf("\r\n\r\n");
      return end < 0 ? undefined : end;
    });
    const lines = this.#buffer.subarray(0, head).toString("latin1").split("\r\n");
    this.#buffer = this.#buffer.subarray(head + 4);
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = new Map(
      lines.slice(1).map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    let body: Buffer;
    if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") {
      const chunks: Buffer[] = [];
      for (;;) {
        const sizeEnd = await this.#until(() => {
          const end = this.#buffer.indexOf("\r\n");
          return end < 0 ? undefined : end;
        });
        const size = parseInt(this.#buffer.subarray(0, sizeEnd).toString("latin1"), 16);
        await this.#until(() => this.#buffer.length >= sizeEnd + 2 + size + 2 ? true : undefined);
        chunks.push(this.#buffer.subarray(sizeEnd + 2, sizeEnd + 2 + size));
        this.#buffer = this.#buffer.subarray(sizeEnd + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(chunks);
    } else {
      const length = Number(headers.get("content-length") ?? 0);
      await this.#until(() => this.#buffer.length >= length ? true : undefined);
      body = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
    }
    this.reused = true;
    const close = headers.get("connection")?.toLowerCase() === "close";
    return { status, close, body: body.toString("utf8") };
  }

  /** Resolves with what `ready` finds once it finds it; rejects with the reason it ended. */
  async #until<T>(ready: () => T | undefined): Promise<T> {
    for (;;) {
      const found = ready();
      if (found !== undefined) return found;
      if (this.#ended !== undefined) throw new Error(this.#ended);
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * A running load: `clients` connections to `url` + `path`, until stopped. With `pauseMs`, each
 * client waits that long between requests: a load that spreads a bounded count over time.
 */
export class KeepAliveLoad {
  readonly outcomes: Outcome[] = [];
  #running = true;
  #connections = 0;
  readonly #clients: Promise<void>[];
  #waiters: { count: number; resolve: () => void }[] = [];

  readonly #pauseMs: number;

  constructor(
    url: string,
    path: string,
    clients: number,
    { pauseMs = 0 }: { pauseMs?: number } = {},
  ) {
    this.#pauseMs = pauseMs;
    const { hostname, port } = new URL(url);
    this.#clients = Array.from(
      { length: clients },
      () => this.#client(hostname, Number(port), path),
    );
  }

  async #client(host: string, port: number, path: string): Promise<void> {
    let connection: Connection | undefined;
    while (this.#running) {
      const sentAt = performance.now();
      let reused = false;
      try {
        if (connection === undefined) {
          connection = await Connection.open(host, port);
          this.#connections++;
        }
        reused = connection.reused;
        const response = await connection.request(host, path);
        this.#record({ ok: true, status: response.status, body: response.body, sentAt });
        if (response.close) {
          connection.close();
          connection = undefined;
        }
        if (this.#pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#pauseMs));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        const where = connection === undefined
          ? "at connect"
          : reused
          ? "on a reused connection"
          : "on a new connection";
        this.#record({ ok: false, kind: `${code} ${where}`, sentAt });
        connection?.close();
        connection = undefined;
      }
    }
    connection?.close();
  }

  #record(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.outcomes.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `count` more requests have ended. */
  more(count: number): Promise<void> {
    const target = this.outcomes.length + count;
    return new Promise((resolve) => this.#waiters.push({ count: target, resolve }));
  }

  /** Stops the clients (each after its request in flight) and reports. */
  async stop(): Promise<LoadReport> {
    this.#running = false;
    await Promise.all(this.#clients);
    const failures: Record<string, number> = {};
    for (const outcome of this.outcomes) {
      if (!outcome.ok) failures[outcome.kind] = (failures[outcome.kind] ?? 0) + 1;
    }
    return {
      outcomes: this.outcomes,
      answered: this.outcomes.filter((outcome) => outcome.ok).length,
      failures,
      connections: this.#connections,
    };
  }
}
