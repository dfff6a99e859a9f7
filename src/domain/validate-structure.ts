// Shape and range checks of one load balancer, child by child (no cross-references here).
// Ranges follow Azure except probe intervalInSeconds: lbplane accepts ≥1 s (Azure's minimum is 5)
// because its own agents can probe that fast and tests want quick transitions.

import { checkEnum, checkInt, checkIp, checkRef, checkRequired, isPresent, type Push } from "./checks.js";
import { CHILD_COLLECTIONS } from "./collections.js";
import { isValidResourceName } from "./ids.js";
import { Codes, formatIssue, issue } from "./issues.js";
import type { LoadBalancerSpec } from "./model.js";

const PROTOCOLS = ["Tcp", "Udp", "All"] as const;

type Child = { name?: unknown; properties?: Record<string, unknown> };

function checkNames(spec: LoadBalancerSpec, push: Push): void {
  for (const { name: coll, singular: what } of CHILD_COLLECTIONS) {
    const seen = new Map<string, number>();
    ((spec.properties?.[coll] ?? []) as Child[]).forEach((child, i) => {
      const path = `properties.${coll}[${i}]`;
      if (!checkRequired(push, child?.name, `${path}.name`)) return;
      const name = String(child.name);
      if (!isValidResourceName(name, "child")) {
        push(issue(Codes.InvalidResourceName,
          `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word ` +
            `character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`,
          `${path}.name`));
      }
      const first = seen.get(name.toLowerCase());
      if (first !== undefined) {
        push(formatIssue("DuplicateResourceName",
          `Load balancer has more than one ${what} named '${name}' (properties.${coll}[${first}] and [${i}]; names are compared case-insensitively).`,
          `${path}.name`));
      } else seen.set(name.toLowerCase(), i);
      if (!isPresent(child.properties)) checkRequired(push, undefined, `${path}.properties`);
    });
  }
}

function checkFrontendShapes(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.frontendIPConfigurations ?? []).forEach((fe, i) => {
    const pp = `properties.frontendIPConfigurations[${i}].properties`;
    const p = fe?.properties ?? {};
    checkEnum(push, p.privateIPAllocationMethod, `${pp}.privateIPAllocationMethod`, ["Static", "Dynamic"], false);
    checkEnum(push, p.privateIPAddressVersion, `${pp}.privateIPAddressVersion`, ["IPv4", "IPv6"], false);
    checkRef(push, p.publicIPAddress, `${pp}.publicIPAddress`, false);
    checkRef(push, p.subnet, `${pp}.subnet`, false);
  });
}

function checkPools(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.backendAddressPools ?? []).forEach((pool, i) => {
    const pp = `properties.backendAddressPools[${i}].properties`;
    checkRef(push, pool?.properties?.virtualNetwork, `${pp}.virtualNetwork`, false);
    const seen = new Map<string, number>();
    (pool?.properties?.loadBalancerBackendAddresses ?? []).forEach((a, j) => {
      const ap = `${pp}.loadBalancerBackendAddresses[${j}].properties`;
      // lbplane has no NIC resources: a backend address is its IP (the DIP), so it is required.
      if (!checkRequired(push, a?.properties?.ipAddress, `${ap}.ipAddress`)) return;
      checkEnum(push, a.properties.adminState, `${ap}.adminState`, ["None", "Up", "Down", "Drain"], false);
      checkRef(push, a.properties.virtualNetwork, `${ap}.virtualNetwork`, false);
      const ip = checkIp(push, a.properties.ipAddress, `${ap}.ipAddress`, "Backend address");
      if (!ip) return;
      const key = `${ip}|${(a.properties.virtualNetwork?.id ?? pool.properties.virtualNetwork?.id ?? "").toLowerCase()}`;
      const first = seen.get(key);
      if (first !== undefined) {
        push(formatIssue("DuplicateIpConfigurationReferenceOnBackendAddressPool",
          `Backend address pool ${pool.name} references IP address ${ip} more than once (loadBalancerBackendAddresses[${first}] and [${j}]).`,
          `${ap}.ipAddress`));
      } else seen.set(key, j);
    });
  });
}

function checkRuleShapes(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.loadBalancingRules ?? []).forEach((r, i) => {
    const pp = `properties.loadBalancingRules[${i}].properties`;
    const p = r?.properties;
    if (!p) return;
    checkRef(push, p.frontendIPConfiguration, `${pp}.frontendIPConfiguration`, true);
    checkRef(push, p.backendAddressPool, `${pp}.backendAddressPool`, false);
    (p.backendAddressPools ?? []).forEach((ref, k) => checkRef(push, ref, `${pp}.backendAddressPools[${k}]`, true));
    checkRef(push, p.probe, `${pp}.probe`, false);
    checkEnum(push, p.protocol, `${pp}.protocol`, PROTOCOLS);
    const fpOk = checkInt(push, p.frontendPort, `${pp}.frontendPort`, 0, 65535, `Frontend port of load balancing rule ${r.name}`);
    const bpOk = checkInt(push, p.backendPort, `${pp}.backendPort`, 0, 65535, `Backend port of load balancing rule ${r.name}`, false);
    if (fpOk && (bpOk || !isPresent(p.backendPort))) {
      const bp = p.backendPort ?? p.frontendPort;
      if ((p.frontendPort === 0 || bp === 0) && !(p.protocol === "All" && p.frontendPort === 0 && bp === 0)) {
        push(issue(Codes.InvalidHaPortsRule,
          `Load balancing rule ${r.name}: port 0 is only valid for an HA ports rule, which has protocol All, ` +
            `frontendPort 0 and backendPort 0.`, `${pp}.${p.frontendPort === 0 ? "frontendPort" : "backendPort"}`));
      }
    }
    checkInt(push, p.idleTimeoutInMinutes, `${pp}.idleTimeoutInMinutes`, 4, 100, `Idle timeout of load balancing rule ${r.name} (minutes)`, false);
    checkEnum(push, p.loadDistribution, `${pp}.loadDistribution`, ["Default", "SourceIP", "SourceIPProtocol"], false);
  });
}

function checkProbes(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.probes ?? []).forEach((pr, i) => {
    const pp = `properties.probes[${i}].properties`;
    const p = pr?.properties;
    if (!p) return;
    const protoOk = checkEnum(push, p.protocol, `${pp}.protocol`, ["Tcp", "Http", "Https"]);
    checkInt(push, p.port, `${pp}.port`, 1, 65535, `Port of probe ${pr.name}`);
    checkInt(push, p.intervalInSeconds, `${pp}.intervalInSeconds`, 1, 2147483647, `Interval of probe ${pr.name} (seconds)`, false);
    checkInt(push, p.numberOfProbes, `${pp}.numberOfProbes`, 1, 2147483647, `numberOfProbes of probe ${pr.name}`, false);
    checkInt(push, p.probeThreshold, `${pp}.probeThreshold`, 1, 2147483647, `probeThreshold of probe ${pr.name}`, false);
    checkEnum(push, p.noHealthyBackendsBehavior, `${pp}.noHealthyBackendsBehavior`, ["AllProbedDown", "AllProbedUp"], false);
    const hasPath = typeof p.requestPath === "string" && p.requestPath !== "";
    if (protoOk && p.protocol !== "Tcp" && !hasPath) {
      push(issue(Codes.ProbeRequestPathRequired, `Probe ${pr.name} uses ${p.protocol} and needs a requestPath.`, `${pp}.requestPath`));
    }
    if (protoOk && p.protocol === "Tcp" && isPresent(p.requestPath)) {
      push(issue(Codes.ProbeRequestPathNotAllowed, `Probe ${pr.name} uses Tcp; requestPath is only allowed for Http and Https probes.`, `${pp}.requestPath`));
    }
  });
}

function checkNatRules(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.inboundNatRules ?? []).forEach((n, i) => {
    const pp = `properties.inboundNatRules[${i}].properties`;
    const p = n?.properties;
    if (!p) return;
    const what = `inbound NAT rule ${n.name}`;
    checkRef(push, p.frontendIPConfiguration, `${pp}.frontendIPConfiguration`, true);
    checkEnum(push, p.protocol, `${pp}.protocol`, PROTOCOLS);
    checkInt(push, p.backendPort, `${pp}.backendPort`, 1, 65535, `Backend port of ${what}`);
    checkInt(push, p.idleTimeoutInMinutes, `${pp}.idleTimeoutInMinutes`, 4, 100, `Idle timeout of ${what} (minutes)`, false);
    const hasRange = isPresent(p.frontendPortRangeStart) || isPresent(p.frontendPortRangeEnd);
    const hasPool = isPresent(p.backendAddressPool);
    if (isPresent(p.frontendPort)) {
      checkInt(push, p.frontendPort, `${pp}.frontendPort`, 1, 65535, `Frontend port of ${what}`);
      if (hasRange || hasPool) {
        push(issue(Codes.UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified,
          `Inbound NAT rule ${n.name} specifies frontendPort, so it must not specify frontendPortRangeStart, ` +
            `frontendPortRangeEnd or backendAddressPool (those make a pool-based rule).`, `${pp}.frontendPort`));
      }
    } else {
      const missing = ["frontendPortRangeStart", "frontendPortRangeEnd", "backendAddressPool"].filter((k) => !isPresent(p[k]));
      if (missing.length > 0) {
        push(issue(Codes.MissedInboundNatRuleV2Properties,
          `Inbound NAT rule ${n.name} has no frontendPort, so it is a pool-based rule and needs ${missing.join(", ")}.`, pp));
      }
      const s = checkInt(push, p.frontendPortRangeStart, `${pp}.frontendPortRangeStart`, 1, 65535, `frontendPortRangeStart of ${what}`, false);
      const e = checkInt(push, p.frontendPortRangeEnd, `${pp}.frontendPortRangeEnd`, 1, 65535, `frontendPortRangeEnd of ${what}`, false);
      if (s && e && p.frontendPortRangeStart! > p.frontendPortRangeEnd!) {
        push(issue(Codes.PropertyValueOutOfRange,
          `Inbound NAT rule ${n.name}: frontendPortRangeStart ${p.frontendPortRangeStart} is above frontendPortRangeEnd ${p.frontendPortRangeEnd}.`,
          `${pp}.frontendPortRangeEnd`));
      }
      checkRef(push, p.backendAddressPool, `${pp}.backendAddressPool`, false);
    }
    if (isPresent(p.backendIPAddress)) {
      checkIp(push, p.backendIPAddress, `${pp}.backendIPAddress`, "Backend IP address");
      if (hasPool) {
        push(issue(Codes.InboundNatRuleHasBothBackendIPAddressAndPool,
          `Inbound NAT rule ${n.name} names both a backendIPAddress and a backendAddressPool; use one.`, `${pp}.backendIPAddress`));
      }
    }
  });
}

function checkOutboundShapes(spec: LoadBalancerSpec, push: Push): void {
  (spec.properties.outboundRules ?? []).forEach((o, i) => {
    const pp = `properties.outboundRules[${i}].properties`;
    const p = o?.properties;
    if (!p) return;
    if (checkRequired(push, p.frontendIPConfigurations, `${pp}.frontendIPConfigurations`)) {
      if (p.frontendIPConfigurations.length === 0) {
        push(issue(Codes.PropertyValueOutOfRange, `Outbound rule ${o.name} needs at least one frontend IP configuration.`, `${pp}.frontendIPConfigurations`));
      }
      p.frontendIPConfigurations.forEach((ref, k) => checkRef(push, ref, `${pp}.frontendIPConfigurations[${k}]`, true));
    }
    checkRef(push, p.backendAddressPool, `${pp}.backendAddressPool`, true);
    checkEnum(push, p.protocol, `${pp}.protocol`, PROTOCOLS);
    checkInt(push, p.idleTimeoutInMinutes, `${pp}.idleTimeoutInMinutes`, 4, 120, `Idle timeout of outbound rule ${o.name} (minutes)`, false);
    checkInt(push, p.allocatedOutboundPorts, `${pp}.allocatedOutboundPorts`, 0, 64000, `allocatedOutboundPorts of outbound rule ${o.name}`, false);
  });
}

export function checkStructure(spec: LoadBalancerSpec, lbName: string, push: Push): void {
  if (!isValidResourceName(lbName, "loadBalancer")) {
    push(issue(Codes.InvalidResourceName, `Resource name ${lbName} is invalid. The name can be up to 80 characters long. ` +
      `It must begin with a word character, and it must end with a word character or with '_'. ` +
      `The name may contain word characters or '.', '-', '_'.`, "name"));
  }
  if (typeof spec.location !== "string" || spec.location.trim() === "") checkRequired(push, undefined, "location");
  checkEnum(push, spec.sku?.name, "sku.name", ["Standard", "Basic", "Gateway"], false);
  checkEnum(push, spec.sku?.tier, "sku.tier", ["Regional", "Global"], false);
  checkNames(spec, push);
  checkFrontendShapes(spec, push);
  checkPools(spec, push);
  checkRuleShapes(spec, push);
  checkProbes(spec, push);
  checkNatRules(spec, push);
  checkOutboundShapes(spec, push);
}
