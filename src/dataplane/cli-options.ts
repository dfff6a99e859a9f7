// Command line and environment for lbplane-agent. Every flag has an env var (containers and systemd
// units set env; people type flags); a flag wins over its env var.

import { parseArgs } from "node:util";
import { DEFAULT_DRIVER, DRIVERS, isRegisteredDriver, registeredDriverNames, type RegisteredDriverName } from "./drivers.js";
import type { LogLevel } from "./log.js";

export interface CliOptions {
  controlPlane: string;
  name: string;
  location: string;
  joinToken: string;
  listenHost: string;
  listenPort: number;
  advertiseUrl?: string;
  driver: RegisteredDriverName;
  probeIntervalMs?: number;
  maxConnections: number;
  drainTimeoutMs: number;
  healthSummaryIntervalMs: number;
  trafficReportIntervalMs: number;
  availabilitySampleMs: number;
  countTraffic: boolean;
  logLevel: LogLevel;
}

const FLAGS = {
  "control-plane": { env: "LBPLANE_CONTROL_PLANE", help: "lbplane base URL, e.g. http://127.0.0.1:8080 (required)" },
  name: { env: "LBPLANE_AGENT_NAME", help: "agent name (required)" },
  location: { env: "LBPLANE_LOCATION", help: "Azure location this agent serves, e.g. westeurope (required)" },
  "join-token": { env: "LBPLANE_JOIN_TOKEN", help: "token lbplane accepts for registration (required)" },
  listen: { env: "LBPLANE_AGENT_LISTEN", help: "host:port of the config endpoint (default 127.0.0.1:0 = free port)" },
  "advertise-url": { env: "LBPLANE_AGENT_URL", help: "URL lbplane pushes to (default http://<listen address>)" },
  driver: { env: "LBPLANE_DRIVER", help: oneOf(registeredDriverNames().map((n) => (n === DEFAULT_DRIVER ? `${n} (default)` : n))) },
  "probe-interval-ms": { env: "LBPLANE_PROBE_INTERVAL_MS", help: "override every probe's interval (labs, tests)" },
  "max-connections": { env: "LBPLANE_MAX_CONNECTIONS", help: "concurrent flows before new ones are refused (default 10000)" },
  "drain-timeout-ms": { env: "LBPLANE_DRAIN_TIMEOUT_MS", help: "how long SIGTERM/SIGINT lets flows drain (default 10000)" },
  "health-summary-ms": { env: "LBPLANE_HEALTH_SUMMARY_MS", help: "period of full health summaries (default 10000)" },
  "traffic-report-ms": { env: "LBPLANE_TRAFFIC_REPORT_MS", help: "period of traffic metric reports to lbplane (default 15000)" },
  "traffic-counters": { env: "LBPLANE_TRAFFIC_COUNTERS", help: "on (default) or off: count bytes/packets/flows per rule and backend" },
  "availability-sample-ms": { env: "LBPLANE_AVAILABILITY_SAMPLE_MS", help: "period of synthetic flows and probe-status samples (default 5000)" },
  "log-level": { env: "LBPLANE_LOG_LEVEL", help: "debug, info (default), warn or error" },
} as const;

type Flag = keyof typeof FLAGS;

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, f]) => `  --${flag.padEnd(18)} ${f.env.padEnd(26)} ${f.help}`);
  const drivers = Object.entries(DRIVERS).map(([name, d]) => `  ${name.padEnd(20)} ${d.description}`);
  return `usage: lbplane-agent --control-plane URL --name N --location L --join-token T [options]\n\n  flag                 env var\n${lines.join("\n")}\n\n  drivers (--driver)\n${drivers.join("\n")}\n`;
}

/** "a", "a or b", "a, b or c". */
function oneOf(names: string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

export class CliError extends Error {
  override name = "CliError";
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliOptions | "help" {
  const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true }).values;
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (values.help) return "help";
  const get = (flag: Flag): string | undefined => {
    const v = (values[flag] as string | undefined) ?? env[FLAGS[flag].env];
    return v === undefined || v === "" ? undefined : v;
  };
  const required = (flag: Flag): string => {
    const v = get(flag);
    if (v === undefined) throw new CliError(`--${flag} (or ${FLAGS[flag].env}) is required`);
    return v;
  };
  const int = (flag: Flag, fallback: number | undefined, min: number): number | undefined => {
    const v = get(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new CliError(`--${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };

  const controlPlane = required("control-plane");
  try {
    new URL(controlPlane);
  } catch {
    throw new CliError(`--control-plane is not a URL: '${controlPlane}'`);
  }
  const driver = get("driver") ?? DEFAULT_DRIVER;
  if (!isRegisteredDriver(driver)) throw new CliError(`--driver must be ${oneOf(registeredDriverNames())}, got '${driver}'`);
  const counters = get("traffic-counters") ?? "on";
  if (counters !== "on" && counters !== "off") throw new CliError(`--traffic-counters must be on or off, got '${counters}'`);
  const logLevel = get("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new CliError(`--log-level must be debug, info, warn or error`);

  return {
    controlPlane,
    name: required("name"),
    location: required("location"),
    joinToken: required("join-token"),
    ...parseListen(get("listen") ?? "127.0.0.1:0"),
    advertiseUrl: get("advertise-url"),
    driver,
    probeIntervalMs: int("probe-interval-ms", undefined, 10),
    maxConnections: int("max-connections", 10_000, 1)!,
    drainTimeoutMs: int("drain-timeout-ms", 10_000, 0)!,
    healthSummaryIntervalMs: int("health-summary-ms", 10_000, 100)!,
    trafficReportIntervalMs: int("traffic-report-ms", 15_000, 100)!,
    availabilitySampleMs: int("availability-sample-ms", 5_000, 100)!,
    countTraffic: counters === "on",
    logLevel: logLevel as LogLevel,
  };
}

/** "127.0.0.1:7070", "[::1]:0", ":7070" (all interfaces) or a bare port. */
export function parseListen(text: string): { listenHost: string; listenPort: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new CliError(`--listen must be host:port, got '${text}'`);
  return { listenHost: m[1] || m[2] || "127.0.0.1", listenPort: port };
}
