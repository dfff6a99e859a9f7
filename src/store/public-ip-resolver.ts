// Follows a load balancer's public IP references for the domain: which exist, their address and
// SKU, and which frontend (of any load balancer) already uses each one.

import { childId, loadBalancerId } from "../domain/ids.js";
import type { LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { publicIpArmId } from "./load-balancers.store.js";
import type { Tx } from "./resource-groups.store.js";

const PIP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/publicIPAddresses\/([^/]+)\/?$/i;

export async function resolvePublicIps(
  tx: Tx,
  spec: LoadBalancerSpec,
  lbId: string,
): Promise<{ views: Map<string, PublicIpView>; uids: Map<string, string> }> {
  const views = new Map<string, PublicIpView>();
  const uids = new Map<string, string>();
  for (const fe of spec.properties.frontendIPConfigurations ?? []) {
    const ref = fe.properties.publicIPAddress?.id;
    const m = ref ? PIP_ID.exec(ref) : null;
    if (!ref || !m) continue;
    const pip = await tx.publicIpAddress.findFirst({
      where: { subscriptionId: m[1].toLowerCase(), nameKey: m[3].toLowerCase(), resourceGroup: { nameKey: m[2].toLowerCase() } },
      include: {
        resourceGroup: true,
        frontends: { include: { loadBalancer: { include: { resourceGroup: true } } } },
      },
    });
    if (!pip) continue;
    const user = pip.frontends[0];
    const usedBy = user
      ? childId(
          loadBalancerId({ subscriptionId: user.loadBalancer.subscriptionId, resourceGroup: user.loadBalancer.resourceGroup.name, name: user.loadBalancer.name }),
          "frontendIPConfigurations",
          user.name,
        )
      : undefined;
    views.set(ref.toLowerCase(), {
      id: publicIpArmId(pip.subscriptionId, pip.resourceGroup.name, pip.name),
      ipAddress: pip.ipAddress ?? undefined,
      skuName: pip.skuName,
      usedBy,
    });
    // The same public IP named by two frontends is the domain's to refuse; map the first one.
    if (!uids.has(fe.name.toLowerCase())) uids.set(fe.name.toLowerCase(), pip.id);
  }
  void lbId;
  return { views, uids };
}
