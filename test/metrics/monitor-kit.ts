// What every traffic-metrics test against a real lbplane needs: lbplane with its control loops, heard by
// agents over plain HTTP and by the unmodified @azure/arm-monitor SDK over HTTPS (the SDK refuses bearer
// tokens without TLS: one app, two listeners), and readers of the SDK's answers by dimension.

import https from "node:https";
import type net from "node:net";
import { MonitorClient, type Metric } from "@azure/arm-monitor";
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

export type MetricPoint = { total?: number; average?: number; minimum?: number; maximum?: number; count?: number };

/** Sum of every point's total over every series of the metric. */
export const totalOf = (m: Metric): number => m.timeseries?.flatMap((s) => s.data ?? []).reduce((n, d) => n + (d.total ?? 0), 0) ?? 0;

/** First point of each series, by the value of one dimension (queries with interval FULL have one point). */
export const seriesBy = (m: Metric, dim: string): Record<string, MetricPoint | undefined> =>
  Object.fromEntries((m.timeseries ?? []).map((s) => [s.metadatavalues?.find((v) => v.name?.value === dim.toLowerCase())?.value, s.data?.[0]]));
