// Rows written straight through Prisma for tests that need a load balancer to exist without going
// through the load balancer API (e.g. a frontend holding a public IP).

import { randomUUID } from "node:crypto";
import type { Db } from "../../src/store/prisma.js";

export async function insertLoadBalancer(
  db: Db,
  rg: { id: string; subscriptionId: string },
  lb: { name: string; location: string; frontends: Array<{ name: string; publicIpAddressId?: string }> },
) {
  return db.loadBalancer.create({
    data: {
      resourceGroupId: rg.id,
      subscriptionId: rg.subscriptionId,
      name: lb.name,
      nameKey: lb.name.toLowerCase(),
      location: lb.location,
      etag: `W/"${randomUUID()}"`,
      frontendIpConfigurations: {
        create: lb.frontends.map((fe, ordinal) => ({
          name: fe.name,
          nameKey: fe.name.toLowerCase(),
          ordinal,
          publicIpAddressId: fe.publicIpAddressId,
        })),
      },
    },
  });
}

/** Row counts of the resource tables, to prove a refused request wrote nothing. */
export async function rowCounts(db: Db) {
  const [resourceGroups, publicIps, loadBalancers, operations] = await Promise.all([
    db.resourceGroup.count(),
    db.publicIpAddress.count(),
    db.loadBalancer.count(),
    db.operation.count(),
  ]);
  return { resourceGroups, publicIps, loadBalancers, operations };
}
