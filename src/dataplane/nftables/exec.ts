// Running nft / ip, optionally inside a network namespace (`ip netns exec`), so tests and benchmarks can
// program a namespace that plays the load-balancer host. Errors carry the tool's stderr verbatim because
// that text is what the driver reports to lbplane when it refuses a load balancer.

import { spawn } from "node:child_process";

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${stderr.trim()}`);
  }
}

export type Runner = (cmd: string, args: string[], input?: string) => Promise<string>;

export function makeRunner(netns?: string): Runner {
  return (cmd, args, input) => {
    const [file, argv] = netns ? ["ip", ["netns", "exec", netns, cmd, ...args]] : [cmd, args];
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", (e) => reject(new CommandError(cmd, null, e.message)));
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new CommandError(cmd, code, err || out))));
      child.stdin.on("error", () => {}); // the process may exit before reading all input; "close" reports it
      child.stdin.end(input ?? "");
    });
  };
}

/** Serialises async jobs: apply, remove, health updates and close never interleave their nft/ip calls. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
  /** Resolves once every job queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
