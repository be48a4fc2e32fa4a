/**
 * An SMTP server that lives exactly as long as the web app: started at startup (port 1025 by
 * default, `SMTP_PORT` to change it, 0 for a free one), closed at shutdown, and a route that
 * sends mail to it with nodemailer. `main.ts` runs it.
 */
import process from "node:process";
import type { AddressInfo } from "node:net";
import { createTransport, type Transporter } from "nodemailer";
import { SMTPServer } from "smtp-server";
import { App } from "@lifespan/hono";

/** A message as the SMTP server received it. */
export interface Mail {
  from: string;
  to: string[];
  subject: string;
}

/** What the app keeps between startup and shutdown. */
export interface State {
  inbox: Mail[];
  mailer: Transporter;
  smtpPort: number;
}

export const app: App<{ State: State }> = new App<{ State: State }>();

app.whileServing(async function* smtpServer() {
  const inbox: Mail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => raw += chunk);
      stream.on("end", () => {
        const { mailFrom, rcptTo } = session.envelope;
        inbox.push({
          from: mailFrom ? mailFrom.address : "",
          to: rcptTo.map((recipient) => recipient.address),
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? "",
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject);
    smtp.listen(Number(process.env.SMTP_PORT ?? 1025), "127.0.0.1", resolve);
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  console.log(`SMTP server listening on 127.0.0.1:${smtpPort}`);
  const mailer = createTransport({ host: "127.0.0.1", port: smtpPort, ignoreTLS: true });
  app.state.inbox = inbox;
  app.state.mailer = mailer;
  app.state.smtpPort = smtpPort;
  try {
    yield; // the app serves here
  } finally {
    mailer.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    console.log("SMTP server closed");
  }
});

app.post("/send", async (c) => {
  const { to, subject, text } = await c.req.json<{ to: string; subject: string; text: string }>();
  const info = await app.state.mailer.sendMail({ from: "app@example.test", to, subject, text });
  return c.json({ accepted: info.accepted });
});

app.get("/inbox", (c) => c.json(app.state.inbox));
