// The unmodified Azure SDK for Python from Debian (python3-azure: azure-mgmt-network 23 sends
// network api-version 2022-07-01, azure-mgmt-resource 22 sends resources 2022-09-01) runs the seed
// against a listening lbplane over HTTPS. Only configuration differs from talking to Azure: the
// endpoint, a token credential, the scope and the trust anchor (see python_seed.py).

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { makeTestCertificate, type TestCertificate } from "./tls.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./python_seed.py", import.meta.url).pathname;
const lbId = `/subscriptions/${SUB}/resourceGroups/py-sdk-rg/providers/Microsoft.Network/loadBalancers/lb-rule-type-1`;

function hasPythonSdk(): boolean {
  return existsSync("/usr/lib/python3/dist-packages/azure/mgmt/network") && existsSync("/usr/lib/python3/dist-packages/azure/mgmt/resource");
}

describe.skipIf(!hasPythonSdk())("the Azure SDK for Python (Debian python3-azure) against lbplane", () => {
  let t: TestApp;
  let tls: TestCertificate;
  let endpoint: string;

  beforeAll(async () => {
    tls = makeTestCertificate();
    t = await createTestApp({ https: { key: tls.key, cert: tls.cert } });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    endpoint = `https://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t?.close();
    tls?.remove();
  });

  it("runs the seed's Rule type #1 with its own api-versions: create, read back, conflict refused, delete", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, endpoint, SUB, ADMIN_TOKEN, tls.certFile], { timeout: 90_000 });
    const seen = JSON.parse(stdout);
    expect(seen.apiVersions).toEqual({ resources: ["2022-09-01"], network: ["2022-07-01"] });
    expect(seen.resourceGroup).toEqual({ name: "py-sdk-rg", provisioningState: "Succeeded" });
    expect(seen.groupExists).toBe(true);
    expect(seen.publicIps).toEqual([
      ["vip1", "65.52.0.11", "Standard", "Succeeded"],
      ["vip2", "65.52.0.12", "Standard", "Succeeded"],
    ]);
    expect(seen.loadBalancer).toMatchObject({ id: lbId, provisioningState: "Succeeded" });
    expect(seen.rules).toEqual([
      ["rule1", 80, 80, false],
      ["rule2", 80, 81, false],
    ]);
    expect(seen.probe).toEqual({ port: 80, probeThreshold: 2, rules: [`${lbId}/loadBalancingRules/rule1`, `${lbId}/loadBalancingRules/rule2`] });
    expect(seen.pool).toEqual(["10.0.0.4"]);
    expect(seen.frontends).toEqual(["frontend1", "frontend2"]);
    expect(seen.conflict).toMatchObject({ status: 400 });
    expect(seen.conflict.code).toMatch(/\w+/);
    expect(seen.deleted).toBe(true);
    expect(seen.groupExistsAfterDelete).toBe(false);
  }, 120_000);
});
