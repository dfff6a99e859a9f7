import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokens } from "../../src/store/tokens.js";

const dir = () => mkdtempSync(join(tmpdir(), "lbplane-tokens-"));

describe("management tokens", () => {
  it("a first start with none configured creates an admin token, stores it and reports it once", () => {
    const d = dir();
    const first = loadTokens(d, undefined);
    expect(first.created?.token).toMatch(/^lbp_/);
    expect(first.store.lookup(first.created!.token)).toEqual({ name: "admin", subscriptions: undefined });
    expect(readFileSync(join(d, "tokens.json"), "utf8")).toContain(first.created!.token);
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
    writeFileSync(join(d, "tokens.json"), JSON.stringify({ tokens: [{ name: "ci", token: "ci-token-0123456789abc", subscriptions: ["ABC"] }] }));
    expect(loadTokens(d, undefined).store.lookup("ci-token-0123456789abc")).toEqual({ name: "ci", subscriptions: ["abc"] });
  });

  it("a malformed token file stops the start with a message naming the field", () => {
    const d = dir();
    writeFileSync(join(d, "tokens.json"), JSON.stringify({ tokens: [{ token: "ci-token-0123456789abc", subscriptions: "abc" }] }));
    expect(() => loadTokens(d, undefined)).toThrow(/tokens\[0\]\.subscriptions/);
    writeFileSync(join(d, "tokens.json"), "{not json");
    expect(() => loadTokens(d, undefined)).toThrow(/not valid JSON/);
    writeFileSync(join(d, "tokens.json"), JSON.stringify({ tokens: [{ token: "short" }] }));
    expect(() => loadTokens(d, undefined)).toThrow(/at least 16/);
  });
});
