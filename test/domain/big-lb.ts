// A load balancer at Azure's Standard limits, for the performance test: 600 frontends, 1,500 rules,
// 5,000 backend addresses in 10 pools of 500. Rule i sits on frontend i % 600, port 1000 + i, and
// delivers to pool i % 10 on backend port 2000 + i (non-floating) — distinct flows everywhere.

import type { LbInput } from "../kit/specs.js";

export function bigLb(opts: { rules?: number; poolSize?: number; pools?: number } = {}): LbInput {
  const nRules = opts.rules ?? 1500, poolSize = opts.poolSize ?? 500, nPools = opts.pools ?? 10;
  const frontends: Record<string, string> = {};
  for (let f = 0; f < 600; f++) frontends[`fe${f}`] = `10.200.${f >> 8}.${f & 255}`;
  const pools: Record<string, string[]> = {};
  for (let p = 0; p < nPools; p++) {
    pools[`pool${p}`] = Array.from({ length: poolSize }, (_, i) => `10.${p + 1}.${i >> 8}.${i & 255}`);
  }
  const rules = Array.from({ length: nRules }, (_, i) => ({
    name: `rule${i}`, fe: `fe${i % 600}`, pool: `pool${i % nPools}`, fp: 1000 + i, bp: 2000 + i,
  }));
  return { frontends, pools, rules };
}
