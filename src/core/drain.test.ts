import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { countOpen, drain, type Drainable, pathOf } from "./drain.ts";
import type { LogFields, Logger } from "./log.ts";

/** A cut timeout short enough for a unit test; the real one is `CUT_TIMEOUT`. */
const CUT_TIMEOUT = 20;
const GRACEFUL_TIMEOUT = 20;

interface LogRecord {
  level: keyof Logger;
  message: string;
  fields?: LogFields;
}

/** A logger that records its calls. */
function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: LogFields) =>
    void records.push({ level, message, fields });
  return {
    records,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

/** A fake part whose drain settles when `finish()` is called, and that records cut and abandon. */
interface FakePart extends Drainable {
  finish(): void;
  readonly cuts: Error[];
  abandoned: number;
}

function fakePart(
  name: string,
  { finishOnCut = false, drainWith }: { finishOnCut?: boolean; drainWith?: () => Promise<void> } =
    {},
): FakePart {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const part: FakePart = {
    finish,
    cuts: [],
    abandoned: 0,
    drain: drainWith ?? (() => finished),
    cut(reason) {
      part.cuts.push(reason);
      if (finishOnCut) finish();
    },
    abandon() {
      part.abandoned++;
    },
    describe: () => name,
  };
  return part;
}

describe("drain()", () => {
  test("parts drained within the grace period are neither cut nor let go", async () => {
    const { logger, records } = recordingLogger();
    const parts = [fakePart("a"), fakePart("b")];
    for (const part of parts) part.finish();
    const report = await drain(parts, GRACEFUL_TIMEOUT, logger, { cutTimeout: CUT_TIMEOUT });
    assert.deepEqual(report, { cut: false, abandoned: false });
    assert.deepEqual(parts.map((part) => [part.cuts.length, part.abandoned]), [[0, 0], [0, 0]]);
    assert.deepEqual(records, []);
  });

  test("a part that finishes only when cut is cut with the reason, and not let go", async () => {
    const { logger, records } = recordingLogger();
    const done = fakePart("done");
    done.finish();
    const held = fakePart("held", { finishOnCut: true });
    const report = await drain([done, held], GRACEFUL_TIMEOUT, logger, { cutTimeout: CUT_TIMEOUT });
    assert.deepEqual(report, { cut: true, abandoned: false });
    assert.equal(done.cuts.length, 0, "a part already drained is not cut");
    assert.equal(held.cuts.length, 1);
    assert.ok(held.cuts[0] instanceof Error);
    assert.match(held.cuts[0].message, /the 20 ms grace period is over/);
    assert.equal(held.abandoned, 0);
    assert.deepEqual(records, []);
  });

  test("a part that never finishes is let go with one warning naming it; the drain resolves", async () => {
    const { logger, records } = recordingLogger();
    const cuttable = fakePart("2 connection(s)", { finishOnCut: true });
    const stuck = fakePart("1 WebSocket(s)");
    const report = await drain([cuttable, stuck], GRACEFUL_TIMEOUT, logger, {
      cutTimeout: CUT_TIMEOUT,
    });
    assert.deepEqual(report, { cut: true, abandoned: true });
    assert.deepEqual([cuttable.cuts.length, stuck.cuts.length], [1, 1]);
    assert.deepEqual([cuttable.abandoned, stuck.abandoned], [0, 1]);
    assert.deepEqual(records.map(({ level }) => level), ["warn"]);
    assert.equal(
      records[0]!.message,
      "Still open 20 ms after the 20 ms grace period: 1 WebSocket(s); shutting down anyway",
    );
    assert.deepEqual(records[0]!.fields, { open: ["1 WebSocket(s)"], gracefulTimeoutMs: 20 });
  });

  test("a part whose drain rejects or throws does not reject the drain; the error is logged", async () => {
    const { logger, records } = recordingLogger();
    const rejects = fakePart("rejects", { drainWith: () => Promise.reject(new Error("refused")) });
    const throws = fakePart("throws", {
      drainWith: () => {
        throw new Error("broken");
      },
    });
    const report = await drain([rejects, throws], GRACEFUL_TIMEOUT, logger, {
      cutTimeout: CUT_TIMEOUT,
    });
    assert.deepEqual(report, { cut: false, abandoned: false });
    assert.deepEqual(records.map(({ level, message }) => [level, message]).sort(), [
      ["error", "Error while draining: broken"],
      ["error", "Error while draining: refused"],
    ]);
  });

  test("a part whose cut or abandon throws is still let go, and the other parts are cut", async () => {
    const { logger, records } = recordingLogger();
    const broken = fakePart("broken");
    broken.cut = () => {
      throw new Error("cannot cut");
    };
    broken.abandon = () => {
      throw new Error("cannot let go");
    };
    const cuttable = fakePart("cuttable", { finishOnCut: true });
    const report = await drain([broken, cuttable], GRACEFUL_TIMEOUT, logger, {
      cutTimeout: CUT_TIMEOUT,
    });
    assert.deepEqual(report, { cut: true, abandoned: true });
    assert.equal(cuttable.cuts.length, 1);
    assert.deepEqual(records.map(({ level, message }) => [level, message]), [
      ["error", "Error while cutting broken: cannot cut"],
      ["error", "Error while letting go of broken: cannot let go"],
      ["warn", "Still open 20 ms after the 20 ms grace period: broken; shutting down anyway"],
    ]);
  });

  test("a cut names each request in flight, counts the WebSockets, and tells onCut", async () => {
    const { logger, records } = recordingLogger();
    const startedAt = Date.now() - 100;
    const server: Drainable = {
      ...fakePart("server", { finishOnCut: true }),
      open: () => ({
        requests: [
          { method: "GET", url: "/report?token=secret", startedAt },
          { method: "POST", url: "http://127.0.0.1:8000/upload#x", startedAt },
        ],
        connections: 3,
      }),
    };
    const sockets: Drainable = {
      ...fakePart("sockets", { finishOnCut: true }),
      open: () => ({ websockets: 2 }),
    };
    assert.deepEqual(countOpen([server, sockets]), { requests: 2, connections: 3, websockets: 2 });
    const told: unknown[] = [];
    await drain([server, sockets], GRACEFUL_TIMEOUT, logger, {
      cutTimeout: CUT_TIMEOUT,
      onCut: (cut) => told.push(cut),
    });
    assert.deepEqual(
      records.map((record) => [record.level, record.message.replace(/\d{3,} ms/, "N ms")]),
      [
        ["warn", "Cut GET /report after N ms: the 20 ms grace period is over"],
        ["warn", "Cut POST /upload after N ms: the 20 ms grace period is over"],
        [
          "warn",
          "Closed 2 WebSockets whose close did not finish in time: the 20 ms grace period is over",
        ],
      ],
    );
    const fields = records[0]!.fields!;
    assert.deepEqual(Object.keys(fields).sort(), [
      "durationMs",
      "gracefulTimeoutMs",
      "method",
      "path",
    ]);
    assert.ok((fields.durationMs as number) >= 100);
    assert.equal(told.length, 1);
    assert.deepEqual((told[0] as { websockets: number }).websockets, 2);
  });
});

describe("pathOf()", () => {
  test("keeps the path of a URL, never its query", () => {
    assert.equal(pathOf("/a/b?x=1"), "/a/b");
    assert.equal(pathOf("/a#frag"), "/a");
    assert.equal(pathOf("/"), "/");
    assert.equal(pathOf("https://example.com/a?secret=1"), "/a");
    assert.equal(pathOf("*"), "*");
    assert.equal(pathOf("http://h"), "/");
    assert.equal(pathOf("http://h?secret=1"), "/");
    assert.equal(pathOf("http://h/a#f?x=1"), "/a");
  });

  test("with query, keeps the query string but not the fragment", () => {
    assert.equal(pathOf("/a/b?x=1", true), "/a/b?x=1");
    assert.equal(pathOf("/a?x=1#frag", true), "/a?x=1");
    assert.equal(pathOf("https://example.com/a?x=1", true), "/a?x=1");
    assert.equal(pathOf("http://h?x=1", true), "/?x=1");
    assert.equal(pathOf("http://h/a", true), "/a");
  });
});
