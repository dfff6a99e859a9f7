// Swagger UI works on the first click, in a real browser (Debian's chromium driven by
// playwright-core; no browser download): open /docs, authorise with the bearer token, reload (the
// authorisation persists), then "Execute" the resource-group PUT and the load-balancer PUT exactly
// as pre-filled — path parameters from their examples, api-version preselected, bodies from the
// examples — and see 201 each; then read the seed's mapping table through effectiveMappings.
// Every wait is for a selector or a network response, with generous deadlines: the CI machine is
// small and busy.

import { existsSync } from "node:fs";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, listeningLbplane } from "./contract-kit.js";

const CHROMIUM = "/usr/bin/chromium";
const STEP_MS = 60_000;

/** Expands an operation (Swagger UI's id: operations-<tag>-<operationId>), executes it as pre-filled, returns the answer. */
async function execute(page: Page, tag: string, operationId: string, method: string) {
  const block = page.locator(`#operations-${tag}-${operationId}`);
  await block.locator(".opblock-summary").first().click();
  const executeButton = block.locator("button.execute");
  await executeButton.waitFor({ state: "visible", timeout: STEP_MS });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && !r.url().includes("/docs/"), { timeout: STEP_MS }),
    executeButton.click(),
  ]);
  // The UI shows the same status the network saw.
  await block.locator(".live-responses-table tr.response .response-col_status").first().waitFor({ timeout: STEP_MS });
  const shown = (await block.locator(".live-responses-table tr.response .response-col_status").first().textContent())?.trim();
  return { status: response.status(), shown, url: response.url(), body: await response.text(), request: response.request() };
}

// Missing chromium is a failure, not a skip (.ci/run installs it); LBPLANE_SKIP_BROWSER_TESTS=1 opts out locally.
describe.skipIf(process.env.LBPLANE_SKIP_BROWSER_TESTS === "1")("Swagger UI in a real browser", () => {
  let lbplane: Awaited<ReturnType<typeof listeningLbplane>>;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
    lbplane = await listeningLbplane();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: STEP_MS });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await lbplane?.close();
  });

  it("authorises once, executes the pre-filled RG and LB PUTs (201 each), and reads the mapping table", { timeout: 600_000 }, async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${lbplane.url}/docs`, { timeout: STEP_MS });

    await page.locator("button.authorize").first().click();
    const dialog = page.locator(".modal-ux");
    await dialog.locator("input").first().fill(ADMIN_TOKEN);
    await dialog.locator("button.authorize").first().click();
    await dialog.locator("button.btn-done, button.close-modal").first().click();

    // persistAuthorization: a reload keeps the token.
    await page.reload({ timeout: STEP_MS });
    await page.locator("#operations-ResourceGroups-ResourceGroups_CreateOrUpdate").waitFor({ timeout: STEP_MS });

    const group = await execute(page, "ResourceGroups", "ResourceGroups_CreateOrUpdate", "PUT");
    expect(group.request.headers().authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(group.url).toMatch(/\/subscriptions\/00000000-0000-0000-0000-000000000001\/resourcegroups\/seed\?api-version=2025-04-01$/);
    expect({ status: group.status, shown: group.shown }, group.body).toEqual({ status: 201, shown: "201" });
    expect(JSON.parse(group.body)).toMatchObject({ name: "seed", location: "northeurope" });

    const lb = await execute(page, "LoadBalancers", "LoadBalancers_CreateOrUpdate", "PUT");
    expect(lb.url).toMatch(/\/loadBalancers\/lb1\?api-version=2026-01-01$/);
    expect({ status: lb.status, shown: lb.shown }, lb.body).toEqual({ status: 201, shown: "201" });

    const mappings = await execute(page, "LoadBalancers", "LoadBalancers_ListEffectiveMappings", "GET");
    expect(mappings.status, mappings.body).toBe(200);
    const rows = (JSON.parse(mappings.body) as { value: Array<{ rule: string; protocol: string; frontendIPAddress: string; frontendPort: number; destinations: Array<{ destinationIPAddress: string; destinationPort: number }> }> }).value;
    const table = rows.map((r) => `${r.rule} ${r.frontendIPAddress}:${r.frontendPort}/${r.protocol} → ${r.destinations.map((d) => `${d.destinationIPAddress}:${d.destinationPort}`).join(",")}`);
    expect(table.sort()).toEqual([
      "vip1 10.1.0.1:80/Tcp → 10.0.0.4:80,10.0.0.5:80",
      "vip2 10.1.0.1:8080/Tcp → 10.0.0.4:8080,10.0.0.5:8080",
      "vip3 10.1.0.1:80/Udp → 10.0.0.4:80,10.0.0.5:80",
      "vip4 10.1.0.2:80/Tcp → 10.0.0.4:81,10.0.0.5:81",
    ]);
  });
});
