// Follows a load balancer's public IP references for the domain: which exist, their address, SKU
// and location, and which frontend (of any load balancer) already uses each one. Every reference
// of a write is resolved by one statement.

import { childId, loadBalancerId } from "../domain/ids.js";
import type { LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { publicIpId } from "./public-ips.store.js";
import type { Statement } from "./sql-transaction.js";

const PIP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/publicIPAddresses\/([^/]+)\/?$/i;

/** One frontend's public IP reference, as a lookup key. */
export interface PublicIpRef {
  frontend: string;
  ref: string;
  key: [string, string, string];
}

/** The public IPs found for a write's references. */
export interface ResolvedPublicIps {
  /** Views of the public IPs found, keyed by lower-cased reference. */
  views: Map<string, PublicIpView>;
  /** Each frontend's (lower-cased name) public IP row id. */
  uids: Map<string, string>;
}

/** The public IP references of the spec's frontends, in frontend order, as lookup keys. */
export function publicIpRefs(spec: LoadBalancerSpec): PublicIpRef[] {
  const refs: PublicIpRef[] = [];
  for (const fe of spec.properties.frontendIPConfigurations ?? []) {
    const ref = fe.properties.publicIPAddress?.id;
    const m = ref ? PIP_ID.exec(ref) : null;
    if (!ref || !m) continue;
    refs.push({ frontend: fe.name, ref, key: [m[1].toLowerCase(), m[2].toLowerCase(), m[3].toLowerCase()] });
  }
  return refs;
}

/** Looks up every key of `refs` (row `ord` answers key number `ord`, from 1); undefined when there are none. */
export function publicIpStatement(refs: PublicIpRef[]): Statement | undefined {
  if (!refs.length) return undefined;
  return {
    text: `
      SELECT k.ord, p.id, p.subscription_id, prg.name AS rg_name, p.name, p.ip_address, p.sku_name, p.location,
             (SELECT json_build_object('frontend', f.name, 'subscription_id', lb.subscription_id, 'rg_name', lrg.name, 'lb_name', lb.name)
              FROM frontend_ip_configurations f
              JOIN load_balancers lb ON lb.id = f.load_balancer_id
              JOIN resource_groups lrg ON lrg.id = lb.resource_group_id
              WHERE f.public_ip_address_id = p.id LIMIT 1) AS used_by
      FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(subscription_id, rg_key, name_key, ord)
      JOIN resource_groups prg ON prg.name_key = k.rg_key AND prg.subscription_id = k.subscription_id
      JOIN public_ip_addresses p ON p.resource_group_id = prg.id AND p.subscription_id = k.subscription_id AND p.name_key = k.name_key
      -- Holds each address until this write commits: a public IP PUT changing it (a key column)
      -- waits, then sees the new frontend and refuses; our claims never name a stale address.
      FOR KEY SHARE OF p`,
    values: [0, 1, 2].map((i) => refs.map((r) => r.key[i])),
  };
}

interface PublicIpRow {
  ord: string;
  id: string;
  subscription_id: string;
  rg_name: string;
  name: string;
  ip_address: string | null;
  sku_name: string;
  location: string;
  used_by: { frontend: string; subscription_id: string; rg_name: string; lb_name: string } | null;
}

/** The views of the public IPs found, keyed by lower-cased reference, and each frontend's public IP row id. */
export function resolvedPublicIps(
  refs: PublicIpRef[],
  result: { rows: unknown[] } | undefined,
): ResolvedPublicIps {
  const found = new Map((result?.rows ?? []).map((r) => [Number((r as PublicIpRow).ord) - 1, r as PublicIpRow]));
  const views = new Map<string, PublicIpView>();
  const uids = new Map<string, string>();
  refs.forEach(({ frontend, ref }, i) => {
    const pip = found.get(i);
    if (!pip) return;
    const user = pip.used_by;
    views.set(ref.toLowerCase(), {
      id: publicIpId(pip.subscription_id, pip.rg_name, pip.name),
      ipAddress: pip.ip_address ?? undefined,
      skuName: pip.sku_name,
      location: pip.location,
      usedBy: user
        ? childId(loadBalancerId({ subscriptionId: user.subscription_id, resourceGroup: user.rg_name, name: user.lb_name }), "frontendIPConfigurations", user.frontend)
        : undefined,
    });
    // The same public IP named by two frontends is the domain's to refuse; map the first one.
    if (!uids.has(frontend.toLowerCase())) uids.set(frontend.toLowerCase(), pip.id);
  });
  return { views, uids };
}
