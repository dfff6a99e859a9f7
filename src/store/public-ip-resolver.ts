// Follows a load balancer's public IP references for the domain: which exist, their address, SKU
// and location, and which frontend (of any load balancer) already uses each one.

import type { LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { findPublicIpByKey, frontendUsing, publicIpId } from "./public-ips.store.js";
import type { Tx } from "./resource-groups.store.js";

const PIP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/publicIPAddresses\/([^/]+)\/?$/i;

export async function resolvePublicIps(
  tx: Tx,
  spec: LoadBalancerSpec,
): Promise<{ views: Map<string, PublicIpView>; uids: Map<string, string> }> {
  const views = new Map<string, PublicIpView>();
  const uids = new Map<string, string>();
  for (const fe of spec.properties.frontendIPConfigurations ?? []) {
    const ref = fe.properties.publicIPAddress?.id;
    const m = ref ? PIP_ID.exec(ref) : null;
    if (!ref || !m) continue;
    const pip = await findPublicIpByKey(tx, { subscriptionId: m[1], resourceGroupName: m[2], name: m[3] });
    if (!pip) continue;
    views.set(ref.toLowerCase(), {
      id: publicIpId(pip.subscriptionId, pip.resourceGroup.name, pip.name),
      ipAddress: pip.ipAddress ?? undefined,
      skuName: pip.skuName,
      location: pip.location,
      usedBy: frontendUsing(pip),
    });
    // The same public IP named by two frontends is the domain's to refuse; map the first one.
    if (!uids.has(fe.name.toLowerCase())) uids.set(fe.name.toLowerCase(), pip.id);
  }
  return { views, uids };
}
