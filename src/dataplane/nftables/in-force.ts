// Which frontends the kernel forwards now, read back from the table rather than taken from the driver's
// memory: Data Path Availability of UDP and HA-ports frontends (metrics/availability.ts) rests on it, so a
// table flushed or an entry deleted from outside shows as unavailable, as a broken path should.
//
// A listener is reached only through its dispatch entries (render.ts: nat_* for DNAT rules, fip_* for
// floating IP, each a `goto c_<listener key>`), so a listener whose chain no entry names carries nothing.
// One `nft -j list map` per dispatch map of each family in use: small lists (one element per frontend
// and transport), never the listeners' slot maps.

import type { CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { frontendOf } from "../driver.js";
import type { Runner } from "./exec.js";
import { familyOf, listenerKey, type Family } from "./render.js";

const LISTENER_DISPATCH = ["nat_port", "nat_any", "fip_port", "fip_any"] as const;

/** `${loadBalancerId}\n${frontendOf(listener)}` of every listener of `lbs` a dispatch entry in `table` leads to. */
export async function frontendsInForce(run: Runner, table: string, lbs: Iterable<CompiledLoadBalancer>): Promise<Set<string>> {
  const byChain = new Map<string, string>();
  const families = new Set<Family>();
  for (const lb of lbs)
    for (const l of lb.listeners) {
      byChain.set(`c_${listenerKey(lb.id, l.name, l.kind)}`, `${lb.id}\n${frontendOf(l)}`);
      families.add(familyOf(l.frontendIPAddress));
    }
  const out = new Set<string>();
  for (const family of families)
    for (const map of LISTENER_DISPATCH) {
      const listing = await run("nft", ["-j", "list", "map", family, table, map]).catch(() => ""); // no table: nothing in force
      for (const m of listing.matchAll(/"goto":\s*\{\s*"target":\s*"([^"]+)"/g)) {
        const frontend = byChain.get(m[1]);
        if (frontend) out.add(frontend);
      }
    }
  return out;
}
