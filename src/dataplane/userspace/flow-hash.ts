// Backend choice per new flow. Rendezvous (highest-random-weight) hashing: every backend scores the
// flow key and the highest score wins. A flow's backend then depends only on the flow key and the
// backend set, so affinity (SourceIP, SourceIPProtocol) survives restarts and other agents agree, and
// removing one backend moves only the flows that were on it (1/n), unlike `hash % n`.

import type { LoadDistribution } from "../../domain/model.js";

/** FNV-1a over UTF-16 code units: fast, dependency-free, good enough before the final mix. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finalizer: spreads FNV's weak low bits so scores of similar keys are independent. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface FlowTuple {
  srcIP: string;
  srcPort: number;
  dstIP: string;
  dstPort: number;
  protocol: "Tcp" | "Udp";
}

/** The tuple Azure hashes for each loadDistribution mode (5-, 2- or 3-tuple). */
export function flowKey(mode: LoadDistribution, t: FlowTuple): string {
  switch (mode) {
    case "SourceIP":
      return `${t.srcIP}|${t.dstIP}`;
    case "SourceIPProtocol":
      return `${t.srcIP}|${t.dstIP}|${t.protocol}`;
    default:
      return `${t.srcIP}|${t.srcPort}|${t.dstIP}|${t.dstPort}|${t.protocol}`;
  }
}

/** Pick the candidate with the highest score for `key`; `seed` is a per-candidate precomputed hash. */
export function rendezvous<T extends { seed: number }>(key: string, candidates: readonly T[]): T | undefined {
  const k = hashString(key);
  let best: T | undefined;
  let bestScore = -1;
  for (const c of candidates) {
    const score = mix(k ^ c.seed);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}
