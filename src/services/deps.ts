// What a use case may touch: the database (only through src/store's functions), the configuration,
// and the hook that tells the agent machinery a location changed. Every use case is a function of
// (deps, input): the routes pass `request.server.deps`, tests and benchmarks pass their own.

import type { Config } from "../config.js";
import type { Db } from "../store/prisma.js";

export interface ServiceDeps {
  config: Config;
  db: Db;
  /** Called after a committed write changed what the agents of `location` must serve. */
  notifyChange?: (location: string) => void;
}
