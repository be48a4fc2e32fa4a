import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { peekContext } from "./context.ts";
import { Lifespan, lifespanOf } from "./lifespan.ts";
import type { Logger } from "./log.ts";

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { records: [string, string][] } {
  const records: [string, string][] = [];
  const record = (level: string) => (message: string) => void records.push([level, message]);
  return {
    records,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
}

function lifespan(taskTimeout = 5000, log: Logger = recordingLogger()) {
  const owner = {};
  return { owner, lifespan: new Lifespan(owner, { taskTimeout, log }) };
}

describe("Lifespan", () => {
  test("is found by its owner, and moves idle → starting → serving → stopping → idle", async () => {
    const { owner, lifespan: life } = lifespan();
    assert.equal(lifespanOf(owner), life);
    assert.equal(lifespanOf({}), undefined);
    const phases: string[] = [life.phase];
    life.addBefore(() => void phases.push(life.phase));
    life.addAfter(() => void phases.push(life.phase));
    await life.startup(Infinity);
    phases.push(life.phase);
    await life.shutdown(Infinity);
    phases.push(life.phase);
    assert.deepEqual(phases, ["idle", "starting", "serving", "stopping", "idle"]);
  });

  test("hooks run in the owner's context", async () => {
    const { owner, lifespan: life } = lifespan();
    let seen: object | undefined;
    life.addBefore(() => void (seen = peekContext()?.app));
    await life.startup(Infinity);
    assert.equal(seen, owner);
    await life.shutdown(Infinity);
  });

  test("a teardown error is reported, not thrown, and every step still runs", async () => {
    const { lifespan: life } = lifespan();
    const ran: string[] = [];
    life.addAfter(() => void ran.push("first registered"));
    life.addAfter(function broken() {
      throw new Error("cannot close");
    });
    await life.startup(Infinity);
    const report = await life.shutdown(Infinity);
    assert.deepEqual(ran, ["first registered"]);
    assert.equal(report.leftRunning, false);
    assert.match(report.error?.message ?? "", /afterServing hook broken threw: cannot close/);
  });

  test("says when it left work running: a task past its timeout, a step past its own", async () => {
    const log = recordingLogger();
    const { lifespan: life } = lifespan(10, log);
    await life.startup(Infinity);
    life.addTask(() => new Promise(() => {}));
    assert.equal((await life.shutdown(Infinity)).leftRunning, true);
    assert.equal(log.records.filter(([level]) => level === "warn").length, 1);

    life.addAfter(() => new Promise(() => {}));
    await life.startup(Infinity);
    const report = await life.shutdown(10);
    assert.equal(report.leftRunning, true);
    assert.match(report.error?.message ?? "", /did not finish within 10 ms/);
  });

  test("beginShutdown() aborts the signal once, and only while serving", async () => {
    const { lifespan: life } = lifespan();
    const idle = life.signal;
    life.beginShutdown();
    assert.equal(idle.aborted, false);
    await life.startup(Infinity);
    life.beginShutdown();
    life.beginShutdown();
    assert.equal(idle.aborted, true);
    assert.equal(life.phase, "stopping");
    await life.shutdown(Infinity);
    // Stopped until the next startup begins, which gets a fresh one.
    assert.equal(life.signal.aborted, true);
    await life.startup(Infinity);
    assert.equal(life.signal.aborted, false);
    await life.shutdown(Infinity);
  });

  test("a tree: children start after their parent, stop before it, and each runs once", async () => {
    const order: string[] = [];
    const make = (name: string) => {
      const { lifespan: life } = lifespan();
      life.addBefore(() => void order.push(`${name} start`));
      life.addAfter(() => void order.push(`${name} stop`));
      return life;
    };
    const [root, left, right, shared] = ["root", "left", "right", "shared"].map(make) as [
      Lifespan,
      Lifespan,
      Lifespan,
      Lifespan,
    ];
    left.mount(shared, "/shared");
    right.mount(shared, "/shared");
    root.mount(left, "/left");
    root.mount(right, "/right");
    assert.throws(() => shared.mount(root, "/root"), TypeError);
    await root.startup(Infinity);
    await root.shutdown(Infinity);
    assert.deepEqual(order, [
      "root start",
      "left start",
      "shared start",
      "right start",
      "right stop",
      "shared stop",
      "left stop",
      "root stop",
    ]);
  });
});
