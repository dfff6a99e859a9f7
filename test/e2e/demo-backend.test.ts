// scripts/demo-backend.mjs, the backend of the README walkthrough, answers as the README says.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort, get } from "../dataplane/lab.js";

const script = fileURLToPath(new URL("../../scripts/demo-backend.mjs", import.meta.url));
const DIP = "127.0.9.21";

describe("scripts/demo-backend.mjs", () => {
  it("answers every request with its name and address, and exits 0 on SIGTERM", async () => {
    const port = await freePort([DIP]);
    const child = spawn(process.execPath, [script, `${DIP}:${port}`, "vm1"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const [line] = await once(child.stdout!, "data");
      expect(String(line)).toBe(`vm1 on ${DIP}:${port}: listening\n`);
      expect(await get(DIP, port)).toBe(`vm1 on ${DIP}:${port}\n`);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("prints its usage and exits 2 without HOST:PORT NAME", async () => {
    const child = spawn(process.execPath, [script, "8081"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (c) => (stderr += c));
    expect((await once(child, "exit"))[0]).toBe(2);
    expect(stderr).toMatch(/usage: node scripts\/demo-backend\.mjs HOST:PORT NAME/);
  });
});
