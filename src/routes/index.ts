// Every route plugin, registered in one place so a reader sees the whole API surface.

import type { FastifyInstance } from "fastify";
import { agentsRoutes } from "./agents.routes.js";
import { effectiveMappingRoutes } from "./effective-mappings.routes.js";
import { loadBalancerChildRoutes } from "./load-balancer-children.routes.js";
import { loadBalancerRoutes } from "./load-balancers.routes.js";
import { metricsRoutes } from "./metrics.routes.js";
import { monitorMetricsRoutes } from "./monitor-metrics.routes.js";
import { operationalRoutes } from "./operational.routes.js";
import { operationRoutes } from "./operations.routes.js";
import { publicIpAddressRoutes } from "./public-ip-addresses.routes.js";
import { resourceGroupRoutes } from "./resource-groups.routes.js";
import { ruleHealthRoutes } from "./rule-health.routes.js";
import { trafficMetricsRoutes } from "./traffic-metrics.routes.js";

export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(operationalRoutes);
  await app.register(resourceGroupRoutes);
  await app.register(publicIpAddressRoutes);
  await app.register(loadBalancerRoutes);
  await app.register(loadBalancerChildRoutes);
  await app.register(effectiveMappingRoutes);
  await app.register(operationRoutes);
  await app.register(ruleHealthRoutes);
  await app.register(agentsRoutes);
  await app.register(metricsRoutes);
  await app.register(trafficMetricsRoutes);
  await app.register(monitorMetricsRoutes);
}
