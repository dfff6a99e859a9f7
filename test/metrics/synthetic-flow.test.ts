// The synthetic flow behind Data Path Availability, against real sockets on loopback: a frontend that
// accepts and holds (a backend took the flow), or answers and closes, is available; one that refuses,
// or accepts and then resets (a proxy with no backend for the flow), is not.

import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { tryConnect } from "../../src/dataplane/metrics/availability.js";
import { resetSocket } from "../../src/dataplane/userspace/tcp-listener.js";

const servers: net.Server[] = [];
async function serve(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on("error", () => {});
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

describe("synthetic flows (Data Path Availability)", () => {
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it("counts a flow that connects and stays, or that the backend answers and closes", async () => {
    expect(await tryConnect("127.0.0.1", await serve(() => {}), 1000, 100)).toBe(true);
    expect(await tryConnect("127.0.0.1", await serve((s) => s.end("220 hello\r\n")), 1000, 100)).toBe(true);
  });

  it("does not count a flow that is refused, or reset right after it connected", async () => {
    const closed = await serve(() => {});
    servers.at(-1)!.close();
    expect(await tryConnect("127.0.0.1", closed, 1000, 100)).toBe(false);
    expect(await tryConnect("127.0.0.1", await serve((s) => setTimeout(() => resetSocket(s), 20)), 1000, 300)).toBe(false);
  });
});
