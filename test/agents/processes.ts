// Real lbplane server processes (`tsx src/server.ts`) on one test database, for restart and
// multi-replica tests. Each prints its listen address in its log; we read it from there.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_TOKEN } from "../helpers/app.js";
import { JOIN_TOKEN } from "./harness.js";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  log: string[];
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

export async function startServer(databaseUrl: string, env: NodeJS.ProcessEnv = {}, startTimeoutMs = 30_000): Promise<ServerProcess> {
  // node --import tsx, not the tsx CLI: the CLI runs the server in a child of its own, so a SIGKILL
  // sent to the CLI would leave the real server running.
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      LBPLANE_TOKEN: ADMIN_TOKEN,
      LBPLANE_JOIN_TOKEN: JOIN_TOKEN,
      LBPLANE_DATA_DIR: mkdtempSync(join(tmpdir(), "lbplane-proc-")),
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // never leave a half-started control plane behind
      reject(new Error(`server did not start:\n${log.join("")}`));
    }, startTimeoutMs);
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString());
      const m = /lbplane API on (http:\/\/[0-9.:]+)/.exec(log.join(""));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => log.push(c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log.join("")}`));
    });
  });
  return {
    url,
    child,
    log,
    kill: (signal = "SIGKILL") =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

export async function api(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
