import assert from "node:assert/strict";
import { connect } from "node:net";
import process from "node:process";
import { describe, test } from "node:test";
import { Child } from "./child.ts";
import { runtimeName } from "./helpers.ts";

const main = new URL("../examples/smtp/main.ts", import.meta.url).pathname;

/** The SMTP greeting read from a raw TCP connection, or the connection error's code. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setEncoding("utf8");
    socket.once("data", (line: string) => {
      socket.end("QUIT\r\n");
      resolve(line.slice(0, 3));
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

describe(`examples/smtp on ${runtimeName}`, () => {
  test("the SMTP server runs for the life of the app and closes at SIGTERM", async () => {
    const child = new Child(main, { PORT: "0", SMTP_PORT: "0" });
    const url = await child.url();
    const smtpPort = Number(/:(\d+)$/.exec(await child.waitFor(/^SMTP server listening/))![1]);
    assert.equal(await greeting(smtpPort), "220");

    const sent = await fetch(`${url}/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "ada@example.test", subject: "Hello Ada", text: "Hi" }),
    });
    assert.deepEqual(await sent.json(), { accepted: ["ada@example.test"] });
    const inbox = await (await fetch(`${url}/inbox`)).json();
    assert.deepEqual(inbox, [{
      from: "app@example.test",
      to: ["ada@example.test"],
      subject: "Hello Ada",
    }]);

    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(exit.stdout.includes("SMTP server closed"), exit.stdout.join("\n"));
    assert.equal(await greeting(smtpPort), "ECONNREFUSED");
  });

  test("testApp() starts the SMTP server in-process and closes it", async () => {
    process.env.SMTP_PORT = "0";
    const { app } = await import("../examples/smtp/app.ts");
    let smtpPort: number;
    {
      await using testApp = await app.testApp();
      smtpPort = app.state.smtpPort;
      const client = testApp.testClient();
      const sent = await client.post("/send", {
        json: { to: "grace@example.test", subject: "In process", text: "Hi" },
      });
      assert.deepEqual(await sent.json(), { accepted: ["grace@example.test"] });
      assert.equal((await (await client.get("/inbox")).json())[0].subject, "In process");
    }
    assert.equal(await greeting(smtpPort), "ECONNREFUSED");
  });
});
