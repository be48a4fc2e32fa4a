/** A child process running a script on the runtime under test, read line by line. */
import { spawn } from "node:child_process";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import { scriptCommand, within } from "./helpers.ts";

/** Longer than any test may take (`--test-timeout` is 120 s): then a child is killed. */
const CHILD_LIFETIME_MS = 150_000;

/** What a child printed and how it ended. */
export interface Exit {
  code: number | null;
  signal: string | null;
  stdout: string[];
  stderr: string;
}

/** A running child: its output lines so far, a way to wait for one, signals, its exit. */
export class Child {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<Exit>;
  readonly #pid: number;
  #waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  #closed = false;

  /**
   * Runs `script` on the runtime under test, or a command of its own (`[command, args]`), with
   * `env` added to this process's environment, in `cwd` (this process's by default).
   */
  constructor(
    script: string | [string, string[]],
    env: Record<string, string> = {},
    cwd?: string,
  ) {
    const [command, args] = typeof script === "string" ? scriptCommand(script) : script;
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own: `[Symbol.asyncDispose]` ends what it started too (a
      // watcher's program, workers), which would otherwise hold its output open.
      detached: true,
    });
    this.#pid = child.pid!;
    // A test past its timeout is abandoned by the runner without disposing what it started; a
    // child left running would then hold the test file's process (and the whole step) open.
    const watchdog = setTimeout(() => this.#killGroup(), CHILD_LIFETIME_MS).unref();
    let buffered = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) this.#push(line);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => this.stderr += chunk);
    this.exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        clearTimeout(watchdog);
        if (buffered) this.#push(buffered);
        this.#closed = true;
        for (const waiter of this.#waiters) waiter.resolve("");
        resolve({ code, signal, stdout: this.lines, stderr: this.stderr });
      });
    });
  }

  #push(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match.test(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** Resolves with the first line (printed or to come) matching `match`; "" if the child exits first. */
  waitFor(match: RegExp): Promise<string> {
    const line = this.lines.find((line) => match.test(line));
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Resolves with the first `count` lines matching `match`; fewer if the child exits first. */
  async waitForCount(match: RegExp, count: number): Promise<string[]> {
    for (;;) {
      const found = this.lines.filter((line) => match.test(line));
      if (found.length >= count || this.#closed) return found.slice(0, count);
      await new Promise((resolve) => this.#waiters.push({ match, resolve }));
    }
  }

  /**
   * Resolves with the exit, or rejects naming `after` if the child is still running `ms` from
   * now: a liveness bound, so that a child that never exits fails its test with a message.
   */
  exitedWithin(ms: number, after: string): Promise<Exit> {
    return within(this.exited, ms, () => `still running ${ms} ms after ${after}:\n${this.stderr}`);
  }

  /** The URL the fixture printed once listening. */
  async url(): Promise<string> {
    const line = await this.waitFor(/^url |Running on /);
    if (line === "") throw new Error(`the child exited before listening:\n${this.stderr}`);
    return line.startsWith("url ") ? line.slice(4) : /Running on (\S+)/.exec(line)![1]!;
  }

  /** The child's process id. */
  get pid(): number {
    return this.#pid;
  }

  /** Sends a signal. `process.kill` rather than `child.kill`: see RUNTIME-NOTES (Deno). */
  kill(signal: "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR2"): void {
    process.kill(this.#pid, signal);
  }

  #killGroup(): void {
    try {
      process.kill(-this.#pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }

  /** Kills its whole process group if it is still running (a failed test), and waits. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) this.#killGroup();
    await this.exited;
  }
}
