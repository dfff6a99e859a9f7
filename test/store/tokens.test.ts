import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokens } from "../../src/store/tokens.js";

const dir = () => mkdtempSync(join(tmpdir(), "lbplane-tokens-"));
/** tokens.json as an operator writes it: private to its owner (lbplane refuses anything wider). */
const writeTokens = (d: string, content: unknown) =>
  writeFileSync(join(d, "tokens.json"), typeof content === "string" ? content : JSON.stringify(content), { mode: 0o600 });
const SUB_A = "0000000A-0000-0000-0000-00000000000A";

describe("management tokens", () => {
  it("a first start with none configured creates an admin token, stores it and reports it once", () => {
    const d = dir();
    const first = loadTokens(d, undefined);
    expect(first.created?.token).toMatch(/^lbp_/);
    expect(first.store.lookup(first.created!.token)).toEqual({ name: "admin", subscriptions: undefined });
    expect(readFileSync(join(d, "tokens.json"), "utf8")).toContain(first.created!.token);
    expect(statSync(join(d, "tokens.json")).mode & 0o777).toBe(0o600);
    const second = loadTokens(d, undefined);
    expect(second.created).toBeUndefined();
    expect(second.store.lookup(first.created!.token)).toBeDefined();
  });

  it("LBPLANE_TOKEN alone is enough: no file is created", () => {
    const loaded = loadTokens(dir(), "env-admin-token-0123456789");
    expect(loaded.created).toBeUndefined();
    expect(loaded.store.lookup("env-admin-token-0123456789")?.subscriptions).toBeUndefined();
    expect(loaded.store.lookup("something-else-entirely")).toBeUndefined();
  });

  it("file tokens may be limited to subscriptions (compared case-insensitively)", () => {
    const d = dir();
    writeTokens(d, { tokens: [{ name: "ci", token: "ci-token-0123456789abc", subscriptions: [SUB_A] }] });
    expect(loadTokens(d, undefined).store.lookup("ci-token-0123456789abc")).toEqual({ name: "ci", subscriptions: [SUB_A.toLowerCase()] });
  });

  it("a malformed token file stops the start with a message naming the field", () => {
    const d = dir();
    writeTokens(d, { tokens: [{ token: "ci-token-0123456789abc", subscriptions: "abc" }] });
    expect(() => loadTokens(d, undefined)).toThrow(/tokens\[0\]\.subscriptions/);
    writeTokens(d, "{not json");
    expect(() => loadTokens(d, undefined)).toThrow(/not valid JSON/);
    writeTokens(d, { tokens: [{ token: "short" }] });
    expect(() => loadTokens(d, undefined)).toThrow(/at least 16/);
  });

  it("a token file that lists no tokens is refused rather than overwritten, unless LBPLANE_TOKEN is set", () => {
    const d = dir();
    writeTokens(d, { tokens: [] });
    expect(() => loadTokens(d, undefined)).toThrow(/lists no tokens/);
    expect(readFileSync(join(d, "tokens.json"), "utf8")).toBe(JSON.stringify({ tokens: [] }));
    expect(loadTokens(d, "env-admin-token-0123456789").created).toBeUndefined();
  });
});
