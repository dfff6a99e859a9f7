// Raw TCP helpers for tests that keep a connection open across config and health changes.

import net from "node:net";

/** A TCP server that prefixes every chunk it echoes with its name. */
export async function startEchoBackend(host: string, port: number, name: string): Promise<net.Server & { sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.on("data", (d) => s.write(`${name}:${d}`));
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return Object.assign(server, { sockets });
}

export async function closeServer(server: net.Server & { sockets?: Set<net.Socket> }): Promise<void> {
  for (const s of server.sockets ?? []) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

export interface Conn {
  socket: net.Socket;
  ask(text: string, timeoutMs?: number): Promise<string>;
  /** Resolves with how the connection ended: "end" (FIN), "reset" (RST) or another error code. */
  ended: Promise<string>;
}

export async function openConn(host: string, port: number, localAddress?: string): Promise<Conn> {
  const socket = net.connect({ host, port, localAddress });
  const ended = new Promise<string>((resolve) => {
    socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNRESET" ? "reset" : (e.code ?? e.message)));
    socket.on("end", () => resolve("end"));
    socket.on("close", () => resolve("closed"));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const ask = (text: string, timeoutMs = 2000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer")), timeoutMs);
      socket.once("data", (d) => {
        clearTimeout(timer);
        resolve(d.toString());
      });
      socket.write(text);
    });
  return { socket, ask, ended };
}
