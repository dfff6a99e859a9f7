// Reading `tokens.json` fails closed. The file decides who is an admin, so every way it can be
// subtly wrong stops the start instead of widening a grant:
// - an entry's unknown key is refused: a misspelt `"subscription"` would otherwise leave
//   `subscriptions` unset, and an unset scope means admin;
// - `subscriptions`, when present, is a non-empty array of subscription ids (UUIDs) — an empty or
//   null scope is refused rather than guessed at (nothing? everything?);
// - a token string listed twice (or equal to LBPLANE_TOKEN) is refused: with a map the last entry
//   would silently win, turning one grant into another;
// - names are unique, so logs and audit name one grant;
// - like ssh with its keys, the file must be private to its owner: group or world access (read or
//   write) is refused, whoever owns it — a root-owned 0644 file still shows every token to every
//   local user — and a file owned by another (non-root) user is refused because that user could
//   rewrite it.
// Messages name the entry (`tokens[2]: …`) and never echo a token.

import { fstatSync, openSync, readFileSync, closeSync } from "node:fs";
import { isUuid } from "../domain/ids.js";

/** One validated entry of tokens.json. */
export interface TokenFileEntry {
  name: string;
  token: string;
  /** Lower-cased; undefined = admin (all subscriptions). */
  subscriptions?: string[];
}

const ENTRY_KEYS = ["name", "token", "subscriptions"];
const FILE_KEYS = ["tokens"];
export const MIN_TOKEN_LENGTH = 16;

/** Reads and validates `file`; throws an Error whose message names the file and the entry. */
export function readTokenFile(file: string, envToken: string | undefined): TokenFileEntry[] {
  const fail = (message: string): never => {
    throw new Error(`${file}: ${message}`);
  };
  // One descriptor for the check and the read, so the file checked is the file read.
  const fd = openSync(file, "r");
  let text: string;
  try {
    checkPrivate(fstatSync(fd), file);
    text = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) return fail(`must be a JSON object {"tokens": [...]}`);
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.includes(key)) fail(`unknown key "${key}" (allowed: ${FILE_KEYS.join(", ")})`);
  }
  if (!Array.isArray(parsed.tokens)) return fail(`"tokens" must be an array of {name, token, subscriptions}`);
  const entries = parsed.tokens.map((raw, i) => readEntry(raw, i, fail));
  if (entries.length === 0 && !envToken) {
    throw new Error(`${file} lists no tokens; add one, or delete the file to let lbplane create an admin token`);
  }
  checkUnique(entries, envToken, fail);
  return entries;
}

function checkPrivate(st: { mode: number; uid: number }, file: string): void {
  // Windows has no POSIX modes to check (Node reports a fixed 0666/0444).
  if (process.platform === "win32") return;
  const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
  if ((st.mode & 0o077) !== 0) {
    throw new Error(`${file} is accessible by group or others (mode ${mode}); tokens must be private: run chmod 600 ${file}`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new Error(`${file} is owned by uid ${st.uid}, not by the user running lbplane (uid ${uid}) or root: run chown ${uid} ${file}`);
  }
}

function readEntry(raw: unknown, i: number, fail: (m: string) => never): TokenFileEntry {
  const at = `tokens[${i}]`;
  if (!isObject(raw)) return fail(`${at} must be an object {name, token, subscriptions}`);
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.includes(key)) fail(`${at}: unknown key "${key}" (allowed: ${ENTRY_KEYS.join(", ")})`);
  }
  const { name, token, subscriptions } = raw;
  if (name !== undefined && (typeof name !== "string" || name.trim() === "")) fail(`${at}.name must be a non-empty string`);
  if (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH) {
    fail(`${at}.token must be a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (subscriptions !== undefined) {
    if (!Array.isArray(subscriptions) || subscriptions.length === 0) {
      fail(`${at}.subscriptions must be a non-empty array of subscription ids (leave it out for an admin token)`);
    }
    for (const [j, sub] of (subscriptions as unknown[]).entries()) {
      if (typeof sub !== "string" || !isUuid(sub)) {
        fail(`${at}.subscriptions[${j}] must be a subscription id (a UUID such as 00000000-0000-0000-0000-000000000001)`);
      }
    }
  }
  return {
    name: (name as string | undefined) ?? `token ${i}`,
    token: token as string,
    subscriptions: (subscriptions as string[] | undefined)?.map((s) => s.toLowerCase()),
  };
}

function checkUnique(entries: TokenFileEntry[], envToken: string | undefined, fail: (m: string) => never): void {
  const byToken = new Map<string, number>();
  const byName = new Map<string, number>();
  for (const [i, e] of entries.entries()) {
    if (e.token === envToken) fail(`tokens[${i}].token is the same as LBPLANE_TOKEN; each token must be listed once`);
    const sameToken = byToken.get(e.token);
    if (sameToken !== undefined) fail(`tokens[${i}].token is the same as tokens[${sameToken}].token; each token must be listed once`);
    byToken.set(e.token, i);
    const sameName = byName.get(e.name);
    if (sameName !== undefined) fail(`tokens[${i}].name "${e.name}" is already used by tokens[${sameName}]`);
    byName.set(e.name, i);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
