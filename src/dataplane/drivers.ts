// The forwarding drivers this agent can run, by the name `--driver` takes. A driver is loaded only
// when chosen: nftables is Linux-only and needs root, so userspace users never load it, and a build
// without it still runs. lbplane accepts any well-formed driver name (the protocol's DriverName);
// this table is the closed set one agent build actually has.

import type { ForwardingDriver } from "./driver.js";
import type { Logger } from "./log.js";

/** What every driver is built from; drivers take more options only in tests and benchmarks. */
export interface DriverSettings {
  log: Logger;
  maxConnections: number;
  /** Traffic counters for traffic metrics (--traffic-counters; both drivers default to on). */
  countTraffic?: boolean;
}

export type DriverFactory = (settings: DriverSettings) => ForwardingDriver | Promise<ForwardingDriver>;

export interface DriverEntry {
  /** One line for `--help`. */
  description: string;
  /** Imports the driver's module; rejects with DriverUnavailable when this build lacks it. */
  load(): Promise<DriverFactory>;
}

/** The chosen driver cannot be loaded in this build or on this host; the message says what to do. */
export class DriverUnavailable extends Error {
  override name = "DriverUnavailable";
}

export const DRIVERS = {
  userspace: {
    description: "sockets in this process (default; any OS, no privileges; IPv4 and IPv6)",
    load: async () => (await import("./userspace/driver.js")).createUserspaceDriver,
  },
  nftables: {
    description: "kernel NAT rules (Linux, root; floating IP, HA ports, outbound rules, IPv4 and IPv6)",
    load: loadNftables,
  },
} as const satisfies Record<string, DriverEntry>;

export type RegisteredDriverName = keyof typeof DRIVERS;

export const DEFAULT_DRIVER: RegisteredDriverName = "userspace";

export function registeredDriverNames(): RegisteredDriverName[] {
  return Object.keys(DRIVERS) as RegisteredDriverName[];
}

export function isRegisteredDriver(name: string): name is RegisteredDriverName {
  return Object.hasOwn(DRIVERS, name);
}

/** Loads the named driver and builds it. */
export async function createDriver(name: RegisteredDriverName, settings: DriverSettings): Promise<ForwardingDriver> {
  const factory = await DRIVERS[name].load();
  return factory(settings);
}

async function loadNftables(): Promise<DriverFactory> {
  // A specifier in a variable: the module may be absent from a build, which must still type-check.
  const specifier = "./nftables/driver.js";
  let mod: { createNftablesDriver?: DriverFactory };
  try {
    mod = await import(specifier);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      throw new DriverUnavailable("the nftables driver is not available in this build (src/dataplane/nftables/driver.ts is missing); use --driver userspace");
    }
    throw err;
  }
  if (typeof mod.createNftablesDriver !== "function") throw new DriverUnavailable("src/dataplane/nftables/driver.ts does not export createNftablesDriver");
  return mod.createNftablesDriver;
}
