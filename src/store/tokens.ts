// Management API tokens. LBPLANE_TOKEN gives one admin token; `tokens.json` in the data folder may
// list more, each optionally limited to subscriptions (read strictly: src/store/token-file.ts). On a
// first start with neither, lbplane creates an admin token, stores it in the data folder (0600) and
// prints it once.
// Tokens are kept as sha256 digests in memory and compared in constant time.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTokenFile } from "./token-file.js";

export interface TokenGrant {
  name: string;
  /** Lower-cased subscription ids this token may use; undefined = all (admin). */
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
    for (const entry of readTokenFile(file, envToken)) store.add(entry.token, entry);
  }
  if (store.size > 0) return { store, file };
  const token = `lbp_${randomBytes(24).toString("base64url")}`;
  mkdirSync(dataDir, { recursive: true });
  try {
    // "wx": never write through a file (or symlink) that appeared since the check above.
    writeFileSync(file, JSON.stringify({ tokens: [{ name: "admin", token }] }, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    throw new Error(`${file} appeared while lbplane was creating it (another lbplane on this data folder?); start again`);
  }
  store.add(token, { name: "admin" });
  return { store, created: { token, file }, file };
}
