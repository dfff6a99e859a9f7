// The README's curl blocks run as written: the seed in curl (resource group, public IPs, the load
// balancer, the mapping table) and the uniqueness-law conflict after it, each line ending with its
// HTTP status. Only LB and TOKEN are pointed at a listening test instance.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, createTestApp, type TestApp } from "../helpers/app.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The first ```sh block after `marker` (a heading or a phrase of the text that introduces it). */
function shBlockAfter(marker: string): string {
  const start = README.indexOf(marker);
  if (start < 0) throw new Error(`README has no "${marker}"`);
  const open = README.indexOf("```sh\n", start);
  return README.slice(open + 6, README.indexOf("\n```", open));
}

describe("README curl blocks", () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t?.close());

  it("the seed in curl, then the conflict example: one response per line, each with its status", async () => {
    const seed = shBlockAfter("## The seed in curl").replace(/^export LB=\S+ TOKEN=\S+/m, `export LB=${base} TOKEN=${ADMIN_TOKEN}`);
    const conflict = shBlockAfter("vip4 moved to DIP:80");
    const { stdout } = await promisify(execFile)("bash", ["-c", `set -e\n${seed}\n${conflict}`], { timeout: 60_000 });
    const lines = stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.slice(l.lastIndexOf(" ") + 1))).toEqual(["201", "201", "201", "201", "200", "400"]);
    for (const line of lines) expect(() => JSON.parse(line.slice(0, line.lastIndexOf(" ")))).not.toThrow();
    expect(JSON.parse(lines[5]?.slice(0, -4) ?? "").error.code).toBe("RulesUseSameBackendPortProtocolAndPool");
  });
});
