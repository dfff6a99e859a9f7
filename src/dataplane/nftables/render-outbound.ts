// Outbound connectivity in nftables: the SNAT blocks of outbound rules (src/domain/outbound.ts decides
// them) and the Standard-SKU rule that nothing else leaves. Pure, like render.ts, whose ListenerObjects
// these objects are, so the full table and the incremental diff treat them exactly like listeners.
//
// Per SNAT block (backend DIP) and transport:
//   forward     out_src[DIP . proto] → f_ chain: `ct count over <block size>` drops (and counts) the new
//               flow that would need a port beyond the block — exhaustion fails new flows deterministically
//               instead of spilling into a neighbour's ports; under the limit the flow gets the rule's
//               idleTimeoutInMinutes (`ct timeout set`, a conntrack timeout policy, which the kernel takes
//               only while the flow is unconfirmed: after conntrack, before it confirms) and is accepted.
//   postrouting snat_src[DIP . proto] → s_ chain: SNAT to frontend:portLow-portHigh. The kernel picks a
//               free port inside the block, per transport (TCP and UDP ports are separate, as in Azure).
// enableTcpReset: conntrack cannot send a RST when it expires a flow, so the reset is given when the flow
// is next used: a TCP packet from the VM that is not a SYN yet starts a "new" flow (its flow expired) is
// answered with a RST instead of leaving the application to time out. (Azure resets both ends at the idle
// moment; lbplane resets the VM's end on its next packet, and the remote end's packets find no flow.)
//
// Standard SKU (one object per family, shared by every load balancer of the agent): no_out[address] →
// drop, for every backend DIP and every floating-IP VIP. The forward chain consults out_src first, so a
// backend with an outbound rule for a transport leaves; anything else from it (or sent from a VIP, which
// a floating-IP VM's application may bind: the seed's limitation) is dropped. Inbound traffic never
// matches: both lists see only new flows that were not DNATed, and replies belong to established flows.

import { createHash } from "node:crypto";
import type { CompiledLoadBalancer, CompiledOutboundRule } from "../../domain/agent-protocol.js";
import type { SeriesKey } from "../metrics/counters.js";
import { DROP, familyOf, FAMILIES, hostPort, type ChainObject, type DispatchEntry, type Family, type ListenerObjects } from "./render.js";
import type { CounterObject } from "./traffic.js";

const protos = (o: CompiledOutboundRule): Array<"tcp" | "udp"> => (o.protocol === "All" ? ["tcp", "udp"] : [o.protocol === "Tcp" ? "tcp" : "udp"]);

const shortHash = (s: string): string => createHash("sha1").update(s).digest("hex").slice(0, 16);

/** Key (and chain-name stem) of one outbound rule's objects in one family. */
export function outboundKey(lbId: string, o: CompiledOutboundRule, family: Family): string {
  return `o_${shortHash(`${lbId}\0out\0${o.kind}\0${o.name}\0${family}`)}`;
}

/** One backend's SNAT block for one transport, and the chain whose named counters count its new flows. */
export interface SnatBlockSite {
  loadBalancerId: string;
  rule: string;
  family: Family;
  protocol: "tcp" | "udp";
  address: string;
  frontendIPAddress: string;
  portLow: number;
  portHigh: number;
  budgetChain: string;
}

/** A SNAT block's traffic series: the outbound rule, the address it SNATs to, the backend; ports 0. */
export function snatSeriesKey(loadBalancerId: string, rule: string, frontendIPAddress: string, protocol: "tcp" | "udp", backend: string): SeriesKey {
  return { loadBalancerId, rule, frontendIPAddress, frontendPort: 0, protocol: protocol === "tcp" ? "Tcp" : "Udp", backendIPAddress: backend, backendPort: 0 };
}

/** Names of a block's counters: new flows it carried ("ok") and new flows refused, the block exhausted ("failed"). */
export const snatCounter = (budgetChain: string, what: "ok" | "failed"): string => `${budgetChain}_${what}`;

/** Every SNAT block of `lb` per transport, with the names render gives its chains. */
export function snatBlockSites(lb: CompiledLoadBalancer): SnatBlockSite[] {
  const out: SnatBlockSite[] = [];
  for (const o of lb.outboundRules ?? [])
    for (const family of FAMILIES) {
      const k = outboundKey(lb.id, o, family).slice(1);
      o.blocks
        .filter((b) => familyOf(b.address) === family)
        .forEach((b, i) => {
          for (const p of protos(o)) out.push({ loadBalancerId: lb.id, rule: o.name, family, protocol: p, ...b, budgetChain: `f${k}_${i}${p[0]}` });
        });
    }
  return out;
}

function renderRule(lb: CompiledLoadBalancer, o: CompiledOutboundRule, family: Family): ListenerObjects | undefined {
  const blocks = o.blocks.filter((b) => familyOf(b.address) === family);
  if (blocks.length === 0) return undefined;
  const k = outboundKey(lb.id, o, family);
  const chains: ChainObject[] = [];
  const dispatch: DispatchEntry[] = [];
  const idle = Math.round(o.idleTimeoutInMinutes * 60);
  const l3 = family === "ip" ? "ip" : "ip6";
  const timeouts = protos(o).map((p) => ({
    name: `t${k.slice(1)}_${p}_${idle}`,
    body: `{ protocol ${p}; l3proto ${l3}; policy = { ${p === "tcp" ? `established: ${idle}` : `unreplied: ${idle}, replied: ${idle}`} }; }`,
  }));
  const reset = o.enableTcpReset ? ["tcp flags & syn == 0 reject with tcp reset"] : [];
  const counters: CounterObject[] = [];
  blocks.forEach((b, i) => {
    for (const p of protos(o)) {
      const f = `f${k.slice(1)}_${i}${p[0]}`; // snatBlockSites spells these names too
      const s = `s${k.slice(1)}_${i}${p[0]}`;
      const timeout = timeouts.find((t) => t.name.includes(`_${p}_`))!.name;
      const key = snatSeriesKey(lb.id, o.name, b.frontendIPAddress, p, b.address);
      counters.push({ name: snatCounter(f, "ok"), key, field: "snat" }, { name: snatCounter(f, "failed"), key, field: "snatFailed" });
      // A flow is counted once: its first packet, before conntrack confirms it (an unanswered flow's later
      // packets are still "new"). A refused one never gets confirmed, so each retry counts as a failure.
      const budget = `ct count over ${b.portHigh - b.portLow + 1} counter name "${snatCounter(f, "failed")}" drop`;
      const counted = `ct status & confirmed == 0 counter name "${snatCounter(f, "ok")}"`;
      chains.push({ name: f, rules: [...(p === "tcp" ? reset : []), budget, `ct timeout set "${timeout}"`, counted, "accept"], usesMap: false });
      chains.push({ name: s, rules: [`meta l4proto ${p} snat ${family} to ${hostPort(b.frontendIPAddress, `${b.portLow}-${b.portHigh}`)}`], usesMap: false });
      dispatch.push({ map: "out_src", key: `${b.address} . ${p}`, chain: f }, { map: "snat_src", key: `${b.address} . ${p}`, chain: s });
    }
  });
  const title = `${lb.name} / outbound ${o.name}`.replace(/\n/g, " ");
  return { lbId: lb.id, family, source: JSON.stringify([lb.id, family, o]), title, chains, dispatch, timeouts, counters };
}

/** Sources a Standard load balancer lets leave only through SNAT: its backends and floating VIPs. */
function standardSources(lb: CompiledLoadBalancer): string[] {
  if (lb.sku !== "Standard") return [];
  const out: string[] = [];
  for (const l of lb.listeners) {
    if (l.enableFloatingIP) out.push(l.frontendIPAddress);
    for (const b of l.backends) out.push(b.address);
  }
  for (const o of lb.outboundRules ?? []) for (const b of o.blocks) out.push(b.address);
  return out;
}

/**
 * Every outbound object of `lbs`, keyed like listeners. A source with two SNAT blocks on one agent (two
 * load balancers' outbound rules for one DIP) is refused: a source leaves through one place.
 */
export function renderOutbound(lbs: CompiledLoadBalancer[]): Map<string, ListenerObjects> {
  const out = new Map<string, ListenerObjects>();
  const owner = new Map<string, string>();
  for (const lb of lbs)
    for (const o of lb.outboundRules ?? [])
      for (const family of FAMILIES) {
        const objects = renderRule(lb, o, family);
        if (!objects) continue;
        for (const d of objects.dispatch) {
          const first = owner.get(d.key);
          if (first !== undefined && first !== `${lb.id}/${o.name}`) {
            throw new Error(`${lb.name}: outbound rule ${o.name} gives ${d.key} a second SNAT block on this agent (already ${first})`);
          }
          owner.set(d.key, `${lb.id}/${o.name}`);
        }
        out.set(outboundKey(lb.id, o, family), objects);
      }
  for (const family of FAMILIES) {
    const sources = [...new Set(lbs.flatMap(standardSources).filter((a) => familyOf(a) === family))].sort();
    if (sources.length === 0) continue;
    const dispatch = sources.map((a): DispatchEntry => ({ map: "no_out", key: a, chain: DROP }));
    const source = JSON.stringify(["standard", family, sources]);
    out.set(`standard_${family}`, { lbId: "", family, source, title: `Standard SKU: no outbound flows except through SNAT (${family})`, chains: [], dispatch });
  }
  return out;
}
