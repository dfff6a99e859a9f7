// The config endpoint: authentication, per-load-balancer apply/refuse, atomic swaps, idempotency,
// and re-registration. In-process agent, real sockets on 127.0.2.x / 127.10.2.x.

import net from "node:net";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLOATING_IP_REASON } from "../../src/dataplane/userspace/support.js";
import { closeServer, openConn, startEchoBackend } from "./echo.js";
import { FakeControlPlane, waitUntil } from "./fake-control-plane.js";
import { config, dips, freePort, listener, loadBalancer, startAgent, startHttpBackend, tryGet, type Backend, type InProcessAgent } from "./lab.js";

const VIP1 = "127.10.2.1";
const VIP2 = "127.10.2.2";
const VIP3 = "127.10.2.3";
const DIP1 = "127.0.2.11";
const DIP2 = "127.0.2.12";

describe("config push", () => {
  const cp = new FakeControlPlane();
  let a: InProcessAgent;
  let web: Backend;
  let webPort: number;
  let vipPort: number;
  let gen = 0;

  beforeAll(async () => {
    await cp.start();
    a = await startAgent(cp, "config-test");
    webPort = await freePort([DIP1, DIP2]);
    vipPort = await freePort([VIP1, VIP2, VIP3]);
    web = await startHttpBackend(DIP1, webPort, "web");
  });
  afterAll(async () => {
    await a.stop();
    await web.close();
    await cp.stop();
  });

  const webLb = (version: string, frontend = VIP1) =>
    loadBalancer("web", version, [listener({ name: "http", frontendIPAddress: frontend, frontendPort: vipPort, backends: dips([DIP1], webPort) })]);

  it("refuses a push without the push token (401) and a malformed one (400)", async () => {
    expect((await cp.push(a.record, config(1, []), "")).status).toBe(401);
    expect((await cp.push(a.record, config(1, []), "not-the-token")).status).toBe(401);
    const bad = await cp.push(a.record, { protocolVersion: 2, generation: -3 } as never);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "InvalidRequestFormat", message: expect.stringContaining("generation") } } });
    const v1 = await cp.push(a.record, { protocolVersion: 1, generation: 1, location: "westeurope", loadBalancers: [] } as never);
    expect(v1).toMatchObject({ status: 400, body: { error: { code: "ProtocolVersionUnsupported", message: expect.stringMatching(/version 1; this agent speaks 2/) } } });
    const notJson = await request(`${a.record.url}/v1/config`, { method: "PUT", headers: { authorization: `Bearer ${a.record.pushToken}` }, body: "{" });
    expect(notJson.statusCode).toBe(400);
    await notJson.body.text();
  });

  it("refuses a floating IP load balancer with the reason and applies the other one in the same push", async () => {
    const floating = loadBalancer("dsr", "f1", [listener({ name: "dsr-rule", frontendIPAddress: VIP2, frontendPort: vipPort, enableFloatingIP: true, backends: [{ address: DIP1, destinationIPAddress: VIP2, destinationPort: vipPort }] })]);
    const ack = await cp.pushOk(a.record, config(++gen, [floating, webLb("w1")]));
    expect(ack.loadBalancers).toEqual([
      { id: floating.id, version: "f1", state: "Refused", detail: `rule 'dsr-rule': ${FLOATING_IP_REASON}` },
      { id: webLb("w1").id, version: "w1", state: "Applied" },
    ]);
    expect(ack.loadBalancers[0]).toMatchObject({ detail: expect.stringContaining("--driver nftables") });
    expect(await tryGet(VIP1, vipPort)).toBe("web");

    // Later changes to the healthy load balancer still apply while the floating one stays refused.
    const next = await cp.pushOk(a.record, config(++gen, [floating, webLb("w2", VIP3)]));
    expect(next.loadBalancers.map((o) => o.state)).toEqual(["Refused", "Applied"]);
    expect(await tryGet(VIP3, vipPort)).toBe("web");
    expect(await tryGet(VIP1, vipPort)).toBe("error"); // the old frontend went away with w1
  });

  it("refuses a version it cannot bind and keeps the previous version serving", async () => {
    const squatter = net.createServer();
    const squatPort = await freePort([VIP1]);
    await new Promise<void>((r) => squatter.listen(squatPort, VIP1, r));
    const v3 = webLb("w3", VIP3);
    v3.listeners.push(listener({ name: "taken", frontendIPAddress: VIP1, frontendPort: squatPort, backends: dips([DIP1], webPort) }));
    const ack = await cp.pushOk(a.record, config(++gen, [v3]));
    expect(ack.loadBalancers[0]).toMatchObject({ state: "Refused", detail: expect.stringMatching(/cannot listen on 127\.10\.2\.1:\d+\/Tcp: .*EADDRINUSE/) });
    expect(await tryGet(VIP3, vipPort)).toBe("web");
    const status = a.agent.status();
    expect(status.loadBalancers[0]).toMatchObject({ appliedVersion: "w2", refused: { version: "w3" } });
    squatter.close();
  });

  it("refuses bad data in one load balancer with a detail and applies the others", async () => {
    const broken = loadBalancer("broken", "b1", [listener({ name: "r", frontendIPAddress: "not-an-ip", frontendPort: 1, backends: [] })]);
    const ack = await cp.pushOk(a.record, config(++gen, [broken, webLb("w2", VIP3)]));
    expect(ack.loadBalancers).toEqual([
      { id: broken.id, version: "b1", state: "Refused", detail: "rule 'r': frontendIPAddress 'not-an-ip' is not an IP address" },
      { id: webLb("w2").id, version: "w2", state: "Applied" },
    ]);
  });

  it("is idempotent for a generation and still applies an older one", async () => {
    const c = config(++gen, [webLb("w2", VIP3)]);
    const first = await cp.pushOk(a.record, c);
    expect(await cp.pushOk(a.record, c)).toEqual(first);
    const older = await cp.pushOk(a.record, config(1, [webLb("w4", VIP1)]));
    expect(older).toEqual({ generation: 1, loadBalancers: [{ id: webLb("w4").id, version: "w4", state: "Applied" }] });
    expect(await tryGet(VIP1, vipPort)).toBe("web");
    expect(a.agent.status().appliedGeneration).toBe(1);
  });

  it("keeps connections on one rule when a push changes another rule", async () => {
    const echoPort = await freePort([DIP1, DIP2]);
    const e1 = await startEchoBackend(DIP1, echoPort, "e1");
    const e2 = await startEchoBackend(DIP2, echoPort, "e2");
    const two = (version: string, ruleBBackends: string[]) =>
      loadBalancer("two", version, [
        listener({ name: "A", frontendIPAddress: VIP1, frontendPort: vipPort, backends: dips([DIP1], echoPort) }),
        listener({ name: "B", frontendIPAddress: VIP2, frontendPort: vipPort, backends: dips(ruleBBackends, echoPort) }),
      ]);
    await cp.pushOk(a.record, config(++gen, [two("t1", [DIP1])]));
    const onA = await openConn(VIP1, vipPort);
    const onB = await openConn(VIP2, vipPort);
    expect(await onA.ask("hi")).toBe("e1:hi");
    expect(await onB.ask("hi")).toBe("e1:hi");

    // Rule B moves to DIP2: its flow to DIP1 is cut (backend left B's pool); rule A's flow is untouched.
    expect((await cp.pushOk(a.record, config(++gen, [two("t2", [DIP2])]))).loadBalancers[0]!.state).toBe("Applied");
    expect(await onA.ask("still there?")).toBe("e1:still there?");
    expect(await onB.ended).toBe("reset");
    const again = await openConn(VIP2, vipPort);
    expect(await again.ask("x")).toBe("e2:x");

    // Removing the load balancer closes its frontends.
    await cp.pushOk(a.record, config(++gen, []));
    expect(await onA.ended).toBe("reset");
    await expect(openConn(VIP1, vipPort)).rejects.toThrow(/ECONNREFUSED/);
    again.socket.destroy();
    await closeServer(e1);
    await closeServer(e2);
  });

  it("applies a delta only on its base: untouched load balancers keep their listeners and connections, a removal stops one", async () => {
    const echoPort = await freePort([DIP1, DIP2]);
    const e1 = await startEchoBackend(DIP1, echoPort, "e1");
    const one = (name: string, version: string, vip: string) =>
      loadBalancer(name, version, [listener({ name: "r", frontendIPAddress: vip, frontendPort: vipPort, backends: dips([DIP1], echoPort) })]);
    await cp.pushOk(a.record, config(++gen, [one("keep", "k1", VIP1), one("move", "m1", VIP2)]));
    const onKeep = await openConn(VIP1, vipPort);
    expect(await onKeep.ask("a")).toBe("e1:a");
    const base = gen;

    // A delta built on a generation the agent does not have would leave holes: 409, send the full state.
    const offBase = await cp.push(a.record, { ...config(base + 1, [one("move", "m2", VIP3)]), fromGeneration: base - 1 });
    expect(offBase).toMatchObject({ status: 409, body: { error: { code: "DeltaBaseMismatch" } } });

    const moved = one("move", "m2", VIP3);
    const ack = await cp.pushOk(a.record, { ...config(++gen, [moved]), fromGeneration: base });
    expect(ack.loadBalancers).toEqual([{ id: moved.id, version: "m2", state: "Applied" }]);
    expect(await onKeep.ask("b")).toBe("e1:b"); // the untouched load balancer's connection lives on
    await expect(openConn(VIP2, vipPort)).rejects.toThrow(/ECONNREFUSED/);
    const onMoved = await openConn(VIP3, vipPort);
    expect(await onMoved.ask("c")).toBe("e1:c");

    const removal = await cp.pushOk(a.record, { ...config(gen + 1, []), fromGeneration: gen, removals: [moved.id] });
    gen++;
    expect(removal.loadBalancers).toEqual([]);
    expect(await onMoved.ended).toBe("reset");
    expect(await onKeep.ask("d")).toBe("e1:d");

    await cp.pushOk(a.record, config(++gen, [])); // full and empty: everything goes
    expect(await onKeep.ended).toBe("reset");
    await closeServer(e1);
  });

  it("registers again when the control plane forgets it, and serves the new push token", async () => {
    const oldId = a.record.agentId;
    cp.forget(oldId);
    await waitUntil(() => cp.agentNamed("config-test") !== undefined, 5000, "re-registration");
    const rec = cp.agentNamed("config-test")!;
    expect(rec.agentId).not.toBe(oldId);
    expect(rec.appliedGeneration).toBe(gen);
    expect((await cp.push(rec, config(++gen, []))).status).toBe(200);
    a.record = rec;
  });
});
