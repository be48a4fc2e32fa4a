/** A self-signed certificate for the TLS tests, made at test time. Not a test file itself. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key: PEM, and the files they are in. */
export interface TestCertificate extends Disposable {
  readonly cert: string;
  readonly key: string;
  readonly files: { readonly cert: string; readonly key: string };
}

/**
 * A self-signed certificate for `localhost` and `127.0.0.1`, valid one day, made by `openssl`
 * (on the machines and in CI); its folder is removed when disposed.
 */
export function testCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "lifespan-tls-"));
  const files = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
  const made = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-days",
    "1",
    "-keyout",
    files.key,
    "-out",
    files.cert,
  ], { encoding: "utf8" });
  if (made.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate: ${made.error ?? made.stderr}`);
  }
  return {
    cert: readFileSync(files.cert, "utf8"),
    key: readFileSync(files.key, "utf8"),
    files,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
