// The uniqueness law — the heart of lbplane (design.md §1, seed "Multiple VIPs"):
//
//   every rule must produce flows with a unique combination of destination IP address, protocol and
//   destination port; and every frontend (IP, protocol, port) belongs to exactly one rule.
//
// Consequences checked here, all over flows grouped by key and swept by port (never all pairs);
// destinations as backend sets, intersected only where two port ranges overlap (backend-sets.ts):
//  - two rules on one frontend IP+protocol+overlapping port (LB or NAT rules, HA ports, NAT ranges)
//    → RulesUseSameFrontendIPProtocolAndPort, except an HA-ports rule sharing its frontend with a
//    specific rule when both enable floating IP (Azure allows that; the specific rule wins its port);
//  - two rules delivering the same protocol+port to the same destination IP on the same VM
//    → RulesUseSameBackendPortProtocolAndPool (two LB rules, same pool) or ...AndIPConfig. A default
//    rule's destination is the DIP, a floating rule's is its VIP, so floating rules reuse backend
//    ports across VIPs and never collide with default rules;
//  - HA ports: internal Standard load balancers only; HA-ports rules of different frontends sharing
//    a VM must all enable floating IP;
//  - across load balancers of the same type in the same scope (location[/vnet]):
//    RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig, and a frontend IP belongs to
//    one load balancer. Another subscription's resources are never named.

import type { Claims, ClaimOwner, OwnedClaims } from "./claims.js";
import { membersBySlot, sweepSharedConflicts } from "./backend-sets.js";
import {
  compareRules, compareStrings, flowsOf, groupBy, sweepConflicts, type DestinationGroup, type FrontendFlow,
} from "./flows.js";
import { loadBalancerId } from "./ids.js";
import { formatEndpoint } from "./ip.js";
import { Codes, issue } from "./issues.js";
import type { DomainIssue, LoadBalancerAddress, LoadBalancerSpec } from "./model.js";
import type { LoadBalancerType, OwnerKind, ResolvedAddress, ResolvedLoadBalancer, ResolvedRule } from "./resolve.js";

type RuleLike = { kind: OwnerKind | string; name: string };

const KIND_LABEL: Record<string, [string, string]> = {
  LoadBalancingRule: ["load balancing rule", "load balancing rules"],
  InboundNatRule: ["inbound NAT rule", "inbound NAT rules"],
};

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function label(r: RuleLike): string {
  return `${KIND_LABEL[r.kind]?.[0] ?? "rule"} ${r.name}`;
}

/** "Load balancing rules a and b" / "Load balancing rule a and inbound NAT rule b". */
function pairLabel(a: RuleLike, b: RuleLike): string {
  if (a.kind === b.kind) return capitalize(`${KIND_LABEL[a.kind]?.[1] ?? "rules"} ${a.name} and ${b.name}`);
  return capitalize(`${label(a)} and ${label(b)}`);
}

function flowText(protocol: string, destinationIp: string, backend: string, low: number, high: number): string {
  const where = formatEndpoint(destinationIp, low, high);
  return destinationIp === backend ? `${protocol} to ${where}` : `${protocol} to ${where} on backend ${backend}`;
}

function floatingText(a: boolean, b: boolean = a): string {
  return a === b ? ` with floating IP ${a ? "enabled" : "disabled"}` : "";
}

function collection(kind: string): string {
  return kind === "InboundNatRule" ? "inboundNatRules" : "loadBalancingRules";
}

/** Resolves a rule's JSON path by index when the spec is at hand, else by name. */
export function rulePath(rule: RuleLike & { index?: number }, spec?: LoadBalancerSpec): string {
  const coll = collection(rule.kind);
  let index = rule.index;
  if (index === undefined && spec) {
    const items = (spec.properties?.[coll] ?? []) as Array<{ name: string }>;
    const i = items.findIndex((it) => it.name?.toLowerCase() === rule.name.toLowerCase());
    if (i >= 0) index = i;
  }
  return index === undefined ? `properties.${coll}['${rule.name}']` : `properties.${coll}[${index}]`;
}

function frontendPortField(rule: ResolvedRule): string {
  return rule.kind === "InboundNatRule" && rule.frontendLow !== rule.frontendHigh
    ? "frontendPortRangeStart" : "frontendPort";
}

const overlap = (a: { low: number; high: number }, b: { low: number; high: number }) =>
  [Math.max(a.low, b.low), Math.min(a.high, b.high)] as const;

const sameRule = (a: ResolvedRule, b: ResolvedRule) => a.kind === b.kind && a.index === b.index;

/** HA ports and a specific rule may share a frontend (and the VIP on a VM) when both float. */
const haFloatingPair = (a: ResolvedRule, b: ResolvedRule) => a.ha !== b.ha && a.floating && b.floating;

/**
 * Issues deduplicated per rule pair. Candidates are offered in whatever order the groups come and
 * sorted by a content key before deduplication, so the same pair is reported the same way whatever
 * the order of rules and pools in the spec — while only conflicts, never all groups, get sorted.
 */
class IssueList {
  readonly items: DomainIssue[] = [];
  private readonly seen = new Set<string>();
  private pending: Array<{ sort: string; key: string; make: () => DomainIssue }> = [];
  add(key: string, make: () => DomainIssue): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(make());
  }
  offer(sort: string, key: string, make: () => DomainIssue): void {
    this.pending.push({ sort, key, make });
  }
  flush(): void {
    this.pending.sort((a, b) => compareStrings(a.sort, b.sort));
    for (const p of this.pending) this.add(p.key, p.make);
    this.pending = [];
  }
}

const pad = (n: number) => String(n).padStart(6, "0");

function ordered(a: ResolvedRule, b: ResolvedRule): [ResolvedRule, ResolvedRule] {
  return compareRules(a, b) <= 0 ? [a, b] : [b, a];
}

function checkFrontends(groups: Map<string, FrontendFlow[]>, out: IssueList): void {
  const byRule = (a: FrontendFlow, b: FrontendFlow) => compareRules(a.rule, b.rule);
  const ok = (a: FrontendFlow, b: FrontendFlow) => sameRule(a.rule, b.rule) || haFloatingPair(a.rule, b.rule);
  for (const [gk, group] of groups) {
    sweepConflicts(group, byRule, ok).forEach(([x, y], n) => {
      const [first, second] = ordered(x.rule, y.rule);
      const [low, high] = overlap(x, y);
      out.offer(`${gk}|${pad(n)}`, `F|${first.kind}|${first.name}|${second.kind}|${second.name}`, () => {
        const ha = first.ha || second.ha
          ? " An HA ports rule shares its frontend only with rules that, like it, enable floating IP." : "";
        return issue(Codes.RulesUseSameFrontendIPProtocolAndPort,
          `${pairLabel(first, second)} use the same frontend IP, protocol and port: ` +
            `${x.protocol} ${formatEndpoint(x.ip, low, high)} of frontend IP configuration ${second.frontend?.name}.${ha}`,
          `${rulePath(second)}.properties.${frontendPortField(second)}`);
      });
    });
  }
  out.flush();
}

function destinationCode(a: ResolvedRule, b: ResolvedRule, poolA?: string, poolB?: string) {
  const samePool = a.kind === "LoadBalancingRule" && b.kind === "LoadBalancingRule" &&
    poolA !== undefined && poolA.toLowerCase() === poolB?.toLowerCase();
  return samePool ? Codes.RulesUseSameBackendPortProtocolAndPool : Codes.RulesUseSameBackendPortProtocolAndIPConfig;
}

function checkDestinations(partitions: Map<string, DestinationGroup[]>, out: IssueList): void {
  const order = (a: DestinationGroup, b: DestinationGroup) => compareRules(a.rule, b.rule);
  const ok = (a: DestinationGroup, b: DestinationGroup) => sameRule(a.rule, b.rule) || haFloatingPair(a.rule, b.rule);
  for (const partition of partitions.values()) {
    for (const { first: a, second: x, slots } of sweepSharedConflicts(partition, order, ok)) {
      // Named by the VM that sorts first, so the message does not depend on the spec's order.
      const vm = slots.map((s) => membersBySlot(x).get(s)!).reduce((m, v) => (memberKey(v) < memberKey(m) ? v : m));
      const pool = (g: DestinationGroup) => membersBySlot(g).get(vm.slot)?.pool;
      const destinationIp = x.vip ?? vm.ip;
      const [first, second] = ordered(a.rule, x.rule);
      const code = destinationCode(a.rule, x.rule, pool(a), pool(x));
      const [low, high] = overlap(a, x);
      const sort = `${memberKey(vm)}|${destinationIp}|${x.protocol}|${pad(x.low)}|${pad(65535 - x.high)}|${pad(x.rule.index)}`;
      out.offer(sort, `D|${code}|${first.kind}|${first.name}|${second.kind}|${second.name}`, () => {
        const from = code === Codes.RulesUseSameBackendPortProtocolAndPool ? ` from backend address pool ${pool(x)}` : "";
        return issue(code,
          `${pairLabel(first, second)}${floatingText(first.floating, second.floating)} both deliver ` +
            `${flowText(x.protocol, destinationIp, vm.ip, low, high)}${from}. Each rule must produce ` +
            `flows with a unique combination of destination IP address, protocol and port.`,
          `${rulePath(second)}.properties.backendPort`);
      });
    }
  }
  out.flush();
}

const memberKey = (a: ResolvedAddress) => `${a.scope}|${a.ip}`;

/** HA-ports rules of different frontends that share a VM must all float (Azure's HA ports rule). */
function checkHaPortsSharing(partitions: Map<string, DestinationGroup[]>, out: IssueList): void {
  // HA rules are few (one per frontend at most): expanding them per VM stays small.
  const perVm = new Map<string, Array<{ g: DestinationGroup; vm: ResolvedAddress }>>();
  for (const partition of partitions.values()) {
    for (const g of partition) {
      if (!g.rule.ha) continue;
      for (const vm of membersBySlot(g).values()) {
        const k = `${memberKey(vm)}|${g.protocol}`;
        const list = perVm.get(k);
        if (list) list.push({ g, vm });
        else perVm.set(k, [{ g, vm }]);
      }
    }
  }
  const byRule = (a: { g: DestinationGroup }, b: { g: DestinationGroup }) => compareRules(a.g.rule, b.g.rule);
  for (const [gk, group] of perVm) {
    const fixed = group.filter((d) => !d.g.rule.floating).sort(byRule)[0];
    if (!fixed) continue;
    const floating = group
      .filter((d) => d.g.rule.floating && d.g.rule.frontend?.name !== fixed.g.rule.frontend?.name)
      .sort(byRule)[0];
    if (!floating) continue;
    const [first, second] = ordered(fixed.g.rule, floating.g.rule);
    const code = destinationCode(fixed.g.rule, floating.g.rule, fixed.vm.pool, floating.vm.pool);
    out.offer(gk, `H|${code}|${first.name}|${second.name}`, () =>
      issue(code,
        `${pairLabel(first, second)} are HA ports rules of different frontends that both deliver every ` +
          `${fixed.g.protocol} port to backend ${fixed.vm.ip}; HA ports rules sharing backends must all enable floating IP ` +
          `(${label(fixed.g.rule)} does not).`,
        `${rulePath(fixed.g.rule)}.properties.enableFloatingIP`));
  }
  out.flush();
}

/** The law within one load balancer. */
export function checkUniqueness(lb: ResolvedLoadBalancer, skuName: string): DomainIssue[] {
  const out = new IssueList();
  for (const rule of [...lb.rules].sort(compareRules)) {
    if (!rule.ha) continue;
    if (lb.type === "Public") {
      out.add(`HP|${rule.name}`, () => issue(Codes.HaPortsRuleOnlySupportedOnInternalLoadBalancer,
        `Load balancing rule ${rule.name} is an HA ports rule (protocol All, port 0); HA ports rules are ` +
          `only supported on internal load balancers.`, `${rulePath(rule)}.properties.frontendPort`));
    }
    if (skuName === "Basic") {
      out.add(`HS|${rule.name}`, () => issue(Codes.HaPortsRuleRequiresStandardSku,
        `Load balancing rule ${rule.name} is an HA ports rule; HA ports rules require a Standard load balancer.`,
        `${rulePath(rule)}.properties.frontendPort`));
    }
  }
  const flows = flowsOf(lb);
  checkFrontends(flows.frontend, out);
  checkDestinations(flows.destination, out);
  checkHaPortsSharing(flows.destination, out);
  return out.items;
}

/**
 * My claims against other load balancers' claims. Used by validation (claims the store fetched) and
 * for conflicts the database detected (a concurrent writer won), so both give the same issue.
 */
export function conflictIssues(
  mine: Claims,
  existing: OwnedClaims,
  ctx: { address: LoadBalancerAddress; lbType: LoadBalancerType; spec?: LoadBalancerSpec },
): DomainIssue[] {
  const myId = loadBalancerId(ctx.address).toLowerCase();
  const others = <T extends ClaimOwner>(rows: T[]) => rows.filter((r) => r.loadBalancerId.toLowerCase() !== myId);
  const foreign = (o: ClaimOwner) => o.subscriptionId.toLowerCase() !== ctx.address.subscriptionId.toLowerCase();
  const ownerKey = (o: ClaimOwner) => (foreign(o) ? "another-subscription" : o.loadBalancerId.toLowerCase());
  const byOwner = <T extends ClaimOwner & { owner: string; portLow: number }>(a: T, b: T) =>
    compareStrings(a.loadBalancerId, b.loadBalancerId) || compareStrings(a.owner, b.owner) || a.portLow - b.portLow;
  const out = new IssueList();
  const otherFe = others(existing.frontend), otherDest = others(existing.destination);
  if (otherFe.length === 0 && otherDest.length === 0) return [];
  const sortOf = (c: { ownerKind: string; owner: string; protocol: string; portLow: number }, rest: string) =>
    `${c.ownerKind === "LoadBalancingRule" ? 0 : 1}|${c.owner.toLowerCase()}|${c.owner}|${c.protocol}|${pad(c.portLow)}|${rest}`;

  const feIndex = groupBy(otherFe, (f) => `${f.scope}|${f.ipAddress}`);
  for (const f of mine.frontend) {
    // A frontend IP belongs to one load balancer, whatever ports the other one uses on it.
    const hit = [...(feIndex.get(`${f.scope}|${f.ipAddress}`) ?? [])].sort(byOwner)[0];
    if (!hit) continue;
    const me = { kind: f.ownerKind, name: f.owner };
    out.offer(sortOf(f, f.ipAddress), `XF|${f.ownerKind}|${f.owner}|${ownerKey(hit)}`, () => issue(Codes.FrontendIPAddressInUseByAnotherLoadBalancer,
      `${capitalize(label(me))} cannot use ${f.protocol} ${formatEndpoint(f.ipAddress, f.portLow, f.portHigh)}: ` +
        `frontend IP address ${f.ipAddress} is already used by ` +
        (foreign(hit) ? "a load balancer in another subscription." :
          `load balancer ${hit.loadBalancerName} (${label({ kind: hit.ownerKind, name: hit.owner })}).`),
      `${rulePath(me, ctx.spec)}.properties.frontendIPConfiguration`));
  }
  out.flush();

  const dIndex = groupBy(otherDest, (d) => `${d.scope}|${d.backendAddress}|${d.destinationIp}|${d.protocol}`);
  const sharedVms = new Set(otherDest.map((d) => `${d.scope}|${d.backendAddress}`));
  for (const g of mine.destination) {
    for (const m of g.members) {
      if (!sharedVms.has(`${m.scope}|${m.backendAddress}`)) continue;
      const d = { ...g, scope: m.scope, backendAddress: m.backendAddress, destinationIp: g.destinationIp ?? m.backendAddress };
      const group = dIndex.get(`${d.scope}|${d.backendAddress}|${d.destinationIp}|${d.protocol}`);
      if (!group) continue;
      const hit = group.filter((e) => e.portLow <= d.portHigh && d.portLow <= e.portHigh).sort(byOwner)[0];
      if (!hit) continue;
      const me = { kind: d.ownerKind, name: d.owner };
      const [low, high] = overlap({ low: d.portLow, high: d.portHigh }, { low: hit.portLow, high: hit.portHigh });
      const flow = flowText(d.protocol, d.destinationIp, d.backendAddress, low, high);
      out.offer(sortOf(d, `${d.backendAddress}|${d.destinationIp}`), `XD|${d.ownerKind}|${d.owner}|${ownerKey(hit)}`, () => issue(
        Codes.RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig,
        `${capitalize(label(me))}${floatingText(d.enableFloatingIP)} would deliver ${flow}, which ` +
          (foreign(hit) ? "is already delivered to by a load balancer in another subscription." :
            `${label({ kind: hit.ownerKind, name: hit.owner })} of load balancer ${hit.loadBalancerName} already ` +
            `delivers to; two ${ctx.lbType.toLowerCase()} load balancers may not deliver the same flow.`),
        `${rulePath(me, ctx.spec)}.properties.backendPort`));
    }
  }
  out.flush();
  return out.items;
}
