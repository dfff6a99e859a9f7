// Background work of the control plane: the agent reconciler, liveness and operation settling.
// (Filled in by the agents capability; until then writes need no agent acknowledgement.)

import type { Config } from "../config.js";
import type { Db } from "../store/prisma.js";

export interface ControlLoops {
  notifyChange: (location: string) => void;
  stop: () => Promise<void>;
}

export async function startControlLoops(_deps: { config: Config; db: Db; databaseUrl: string }): Promise<ControlLoops> {
  return { notifyChange: () => {}, stop: async () => {} };
}
