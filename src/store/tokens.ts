// Management API tokens. LBPLANE_TOKEN gives one admin token; `tokens.json` in the data folder may
// list more, each optionally limited to subscriptions. On a first start with neither, lbplane
// creates an admin token, stores it in the data folder and prints it once.
// Tokens are kept as sha256 digests in memory and compared in constant time.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TokenGrant {
  name: string;
  /** Lower-cased subscription ids this token may use; undefined = all (admin). */
  subscriptions?: string[];
}

interface TokenFileEntry {
  name?: string;
  token: string;
  subscriptions?: string[];
}

export class TokenStore {
  private readonly grants = new Map<string, TokenGrant>();

  add(token: string, grant: TokenGrant): void {
    this.grants.set(digest(token), {
      name: grant.name,
      subscriptions: grant.subscriptions?.map((s) => s.toLowerCase()),
    });
  }

  /** The grant for a presented token, or undefined. */
  lookup(token: string): TokenGrant | undefined {
    const d = digest(token);
    for (const [known, grant] of this.grants) {
      if (timingSafeEqual(Buffer.from(known, "hex"), Buffer.from(d, "hex"))) return grant;
    }
    return undefined;
  }

  get size(): number {
    return this.grants.size;
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface LoadedTokens {
  store: TokenStore;
  /** Set when this start created the admin token (print it once). */
  created?: { token: string; file: string };
  file: string;
}

export function loadTokens(dataDir: string, envToken: string | undefined): LoadedTokens {
  const store = new TokenStore();
  const file = join(dataDir, "tokens.json");
  if (envToken) store.add(envToken, { name: "admin (LBPLANE_TOKEN)" });
  if (existsSync(file)) {
    let parsed: { tokens?: TokenFileEntry[] };
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed.tokens !== undefined && !Array.isArray(parsed.tokens)) throw new Error(`${file}: "tokens" must be an array`);
    for (const [i, entry] of (parsed.tokens ?? []).entries()) {
      if (typeof entry.token !== "string" || entry.token.length < 16) {
        throw new Error(`${file}: tokens[${i}].token must be a string of at least 16 characters`);
      }
      const subs = entry.subscriptions;
      if (subs !== undefined && (!Array.isArray(subs) || subs.some((x) => typeof x !== "string"))) {
        throw new Error(`${file}: tokens[${i}].subscriptions must be an array of subscription ids`);
      }
      store.add(entry.token, { name: entry.name ?? `token ${i}`, subscriptions: subs });
    }
  }
  if (store.size > 0) return { store, file };
  const token = `lbp_${randomBytes(24).toString("base64url")}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ tokens: [{ name: "admin", token }] }, null, 2) + "\n", { mode: 0o600 });
  store.add(token, { name: "admin" });
  return { store, created: { token, file }, file };
}
