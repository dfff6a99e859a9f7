// What every network-namespace benchmark starts with: refuse to run where namespaces cannot be made
// (saying why), and read its numeric flags (`--seconds 5`).

import { netnsUnavailable } from "../test/helpers/netns.js";

/** Exits with the reason when this machine cannot create network namespaces (not root, no `ip`, …). */
export function requireNetns(): void {
  const why = netnsUnavailable();
  if (why) {
    console.error(`bench skipped: ${why}`);
    process.exit(1);
  }
}

/** The number after `flag` on the command line, or `fallback` when the flag is absent or not a number. */
export function numberArg(flag: string, fallback: number): number {
  const at = process.argv.indexOf(flag);
  return (at >= 0 && Number(process.argv[at + 1])) || fallback;
}
