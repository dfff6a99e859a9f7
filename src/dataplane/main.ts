// lbplane-agent entry point: parse flags/env, build the driver, run the agent until SIGINT/SIGTERM.
// A second signal during the drain exits at once (an operator who presses Ctrl-C twice means it).

import type { ForwardingDriver } from "./driver.js";
import { Agent } from "./agent.js";
import { parseCli, usage, type CliOptions } from "./cli-options.js";
import { createDriver } from "./drivers.js";
import { createLogger, errorText } from "./log.js";

async function main(): Promise<void> {
  let opts: CliOptions | "help";
  try {
    opts = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`lbplane-agent: ${errorText(err)}\n\n${usage()}`);
    process.exit(2);
  }
  if (opts === "help") {
    process.stdout.write(usage());
    return;
  }
  const log = createLogger(opts.logLevel);
  let driver: ForwardingDriver;
  try {
    driver = await createDriver(opts.driver, { log, maxConnections: opts.maxConnections, countTraffic: opts.countTraffic });
  } catch (err) {
    process.stderr.write(`lbplane-agent: ${errorText(err)}\n`);
    process.exit(2);
  }
  const agent = new Agent({
    controlPlaneUrl: opts.controlPlane,
    name: opts.name,
    location: opts.location,
    joinToken: opts.joinToken,
    listenHost: opts.listenHost,
    listenPort: opts.listenPort,
    advertiseUrl: opts.advertiseUrl,
    driver,
    log,
    probeIntervalMs: opts.probeIntervalMs,
    healthSummaryIntervalMs: opts.healthSummaryIntervalMs,
    trafficReportIntervalMs: opts.trafficReportIntervalMs,
    availabilitySampleMs: opts.availabilitySampleMs,
    onFatal: (reason) => {
      process.stderr.write(`lbplane-agent: ${reason}\n`);
      agent.stop(0).finally(() => process.exit(1));
    },
  });
  try {
    await agent.start();
  } catch (err) {
    log.error("cannot start", { err: errorText(err) });
    process.exit(1);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn("second signal: exiting without waiting for flows", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("shutting down", { signal, drainTimeoutMs: opts.drainTimeoutMs });
    agent.stop(opts.drainTimeoutMs).then(
      () => process.exit(0),
      (err) => {
        log.error("shutdown failed", { err: errorText(err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

await main();
