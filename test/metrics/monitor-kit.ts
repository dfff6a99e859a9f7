// What every traffic-metrics test against a real lbplane needs: lbplane with its control loops, heard by
// agents over plain HTTP and by the unmodified @azure/arm-monitor SDK over HTTPS (the SDK refuses bearer
// tokens without TLS: one app, two listeners), an in-process agent whose nftables driver programs a
// network namespace, and readers of the SDK's answers by dimension.

import https from "node:https";
import type net from "node:net";
import { MonitorClient, type Metric } from "@azure/arm-monitor";
import { Agent } from "../../src/dataplane/agent.js";
import { silentLogger } from "../../src/dataplane/log.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADMIN_TOKEN, SUB, startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { makeTestCertificate } from "../sdk/tls.js";

export interface MonitoredLbplane {
  t: TestLbplane;
  /** lbplane's plain-HTTP address, for agents. */
  url: string;
  monitor: MonitorClient;
  close(): Promise<void>;
}

export async function startMonitoredLbplane(env: Record<string, string>): Promise<MonitoredLbplane> {
  const tls = makeTestCertificate();
  const t = await startTestLbplane({ env, controlLoops: true });
  const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
  const tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, t.app.routing);
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
  const credential = { getToken: async () => ({ token: ADMIN_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const monitor = new MonitorClient(credential, SUB, {
    endpoint: `https://127.0.0.1:${(tlsServer.address() as net.AddressInfo).port}`,
    credentials: { scopes: ["https://127.0.0.1/.default"] },
    retryOptions: { maxRetries: 0 },
    agent: new https.Agent({ ca: tls.cert }),
  } as never);
  return {
    t,
    url,
    monitor,
    async close() {
      await new Promise<void>((r) => tlsServer.close(() => r()));
      await t.close();
      tls.remove();
    },
  };
}

/**
 * An lbplane-agent in this process whose nftables driver programs namespace `netns`, reporting every 250 ms.
 * It runs in the host namespace: its load balancers must give it nothing to probe and no TCP frontend to
 * sample (no probes; outbound or UDP rules), so that no packet of it leaves this host.
 */
export async function startNftablesAgent(lbplane: MonitoredLbplane, joinToken: string, netns: string, tableName: string): Promise<{ agent: Agent; driver: NftablesDriver }> {
  const driver = createNftablesDriver({ netns, tableName });
  const agent = new Agent({
    controlPlaneUrl: lbplane.url, name: `${tableName}-agent`, location: "westeurope", joinToken, listenHost: "127.0.0.1", listenPort: 0,
    driver, log: silentLogger, trafficReportIntervalMs: 250, availabilitySampleMs: 1000,
  });
  await agent.start();
  return { agent, driver };
}

export type MetricPoint = { total?: number; average?: number; minimum?: number; maximum?: number; count?: number };

/** Sum of every point's total over every series of the metric. */
export const totalOf = (m: Metric): number => m.timeseries?.flatMap((s) => s.data ?? []).reduce((n, d) => n + (d.total ?? 0), 0) ?? 0;

/** First point of each series, by the value of one dimension (queries with interval FULL have one point). */
export const seriesBy = (m: Metric, dim: string): Record<string, MetricPoint | undefined> =>
  Object.fromEntries((m.timeseries ?? []).map((s) => [s.metadatavalues?.find((v) => v.name?.value === dim.toLowerCase())?.value, s.data?.[0]]));
