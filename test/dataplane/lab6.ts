// IPv6 on the netns lab (test/helpers/netns.ts): the same four namespaces and links, dual-stacked with
// addresses from 2001:db8::/32 (documentation range). VIP6_1/VIP6_2 sit on the VMs' loopback (the guest
// side of floating IP, as VIP1/VIP2 do); USERSPACE_VIP6_* sit on the lb namespace's loopback, where a
// userspace proxy must own the addresses it listens on. A userspace driver runs inside the lb namespace
// as its own process (runUserspaceInNetns), since this test process lives in the host namespace.

import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import type { Lab } from "../helpers/netns.js";

export const ADDR6 = {
  client: "2001:db8:c::2",
  vm1: "2001:db8:1::2",
  vm2: "2001:db8:2::2",
  vip1: "2001:db8:f::1",
  vip2: "2001:db8:f::2",
  userspaceVip1: "2001:db8:e::1",
  userspaceVip2: "2001:db8:e::2",
} as const;

export async function addIPv6(lab: Lab): Promise<void> {
  const { client, lb, vm1, vm2 } = lab.ns;
  const batch = (ns: string, lines: string[]) => lab.exec(ns, "ip", ["-6", "-batch", "-"], lines.join("\n") + "\n");
  await lab.exec(lb, "sysctl", ["-qw", "net.ipv6.conf.all.forwarding=1"]);
  await batch(client, [`addr add ${ADDR6.client}/64 dev c0 nodad`, "route add default via 2001:db8:c::1"]);
  await batch(lb, [
    "addr add 2001:db8:c::1/64 dev lbc nodad", "addr add 2001:db8:1::1/64 dev lb1 nodad", "addr add 2001:db8:2::1/64 dev lb2 nodad",
    `addr add ${ADDR6.userspaceVip1}/128 dev lo`, `addr add ${ADDR6.userspaceVip2}/128 dev lo`,
  ]);
  for (const [ns, dev, addr, gw] of [[vm1, "v1", ADDR6.vm1, "2001:db8:1::1"], [vm2, "v2", ADDR6.vm2, "2001:db8:2::1"]]) {
    await batch(ns, [
      `addr add ${addr}/64 dev ${dev} nodad`, `route add default via ${gw}`,
      `addr add ${ADDR6.vip1}/128 dev lo`, `addr add ${ADDR6.vip2}/128 dev lo`,
    ]);
  }
}

const runner = (src: string) => `
import { UserspaceDriver } from "${pathToFileURL(join(src, "dataplane/userspace/driver.ts")).href}";
import { silentLogger } from "${pathToFileURL(join(src, "dataplane/log.ts")).href}";
import readline from "node:readline";
const d = new UserspaceDriver({ log: silentLogger });
for (const lb of JSON.parse(process.argv[2])) await d.apply(lb);
console.log("ready");
readline.createInterface({ input: process.stdin }).on("close", async () => { await d.close(0); process.exit(0); });`;

/** A userspace driver serving `lbs` inside `ns` (its script is written to `dir`); resolves once applied. */
export async function runUserspaceInNetns(ns: string, dir: string, lbs: CompiledLoadBalancer[]): Promise<{ stop: () => void }> {
  const file = join(dir, "userspace-runner.mts");
  writeFileSync(file, runner(join(process.cwd(), "src")));
  const child: ChildProcess = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", file, JSON.stringify(lbs)], {
    cwd: process.cwd(), stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((ok, fail) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => d.includes("ready") && ok());
    child.on("exit", (c) => fail(new Error(`userspace runner exited with ${c}`)));
  });
  return { stop: () => child.stdin!.end() };
}
