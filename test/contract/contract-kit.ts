// What the contract tests share: the repository's paths, running a repository tool (npx-style, from
// node_modules/.bin) with a deadline, and an lbplane listening on 127.0.0.1 for real clients.

import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ADMIN_TOKEN, startTestLbplane, type TestLbplane } from "../helpers/app.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const OPENAPI_DOCUMENT = join(REPO, "openapi/openapi.json");
export { ADMIN_TOKEN };

const run = promisify(execFile);

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` (a file, or a tool in node_modules/.bin) in the repository; never throws on a non-zero exit. */
export async function runTool(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolRun> {
  const file = command.includes("/") ? command : join(REPO, "node_modules/.bin", command);
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...opts.env },
      timeout: opts.timeoutMs ?? 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: `${e.stderr ?? ""}\n${e.message}` };
  }
}

/** lbplane on a fresh database, listening on a free loopback port. */
export async function listeningLbplane(): Promise<TestLbplane & { url: string }> {
  const t = await startTestLbplane({});
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  const address = t.app.server.address();
  if (!address || typeof address !== "object") throw new Error("lbplane is not listening");
  return { ...t, url: `http://127.0.0.1:${address.port}` };
}
