// Every route plugin, registered in one place so a reader sees the whole API surface.

import type { FastifyInstance } from "fastify";
import { operationalRoutes } from "./operational.routes.js";

export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(operationalRoutes);
}
