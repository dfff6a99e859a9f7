// A throwaway self-signed certificate for 127.0.0.1: the official SDKs refuse bearer tokens over
// plain HTTP, so SDK tests serve lbplane over TLS and hand the SDK this certificate as its trust anchor.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  key: Buffer;
  cert: Buffer;
  /** The certificate as a file (what Python's requests wants for connection_verify). */
  certFile: string;
  remove(): void;
}

export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "lbplane-tls-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { stdio: "ignore" });
  return {
    key: readFileSync(join(dir, "key.pem")),
    cert: readFileSync(join(dir, "cert.pem")),
    certFile: join(dir, "cert.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
