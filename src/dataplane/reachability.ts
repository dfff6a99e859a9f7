// Whether lbplane answers, told once per outage. An agent forwards on through a control-plane
// outage of hours; a warning per heartbeat (every 1.25 s), health report and traffic report would
// bury the lines an operator needs: when lbplane became unreachable, that it still is (once a
// minute), and when it came back. A call that got any HTTP answer counts as reached — a 503 from
// lbplane whose database is down is lbplane's to explain, and its callers log it.

import { errorText, type Logger } from "./log.js";

export class Reachability {
  private downSince: number | undefined;
  private failures = 0;
  private lastToldAt = 0;

  constructor(
    private readonly log: Logger,
    private readonly reminderMs = 60_000,
  ) {}

  /** A call got an HTTP answer, whatever its status. */
  reached(): void {
    if (this.downSince === undefined) return;
    this.log.info("control plane reachable again", { afterMs: Date.now() - this.downSince, failedCalls: this.failures });
    this.downSince = undefined;
    this.failures = 0;
  }

  /** A call got no answer: refused, reset, timed out. */
  unreachable(call: string, err: unknown): void {
    const now = Date.now();
    this.failures++;
    if (this.downSince === undefined) {
      this.downSince = this.lastToldAt = now;
      this.log.warn("control plane unreachable; forwarding with the last configuration and retrying", { call, err: errorText(err) });
    } else if (now - this.lastToldAt >= this.reminderMs) {
      this.lastToldAt = now;
      this.log.warn("control plane still unreachable", { forMs: now - this.downSince, failedCalls: this.failures, err: errorText(err) });
    }
  }
}

/** lbplane did not answer at all (refused, reset, timed out); the client has logged the outage once. */
export class ControlPlaneUnreachable extends Error {
  override name = "ControlPlaneUnreachable";
  readonly code: string | undefined;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** A failed call's log line: debug when lbplane is unreachable (told once by the client), warn otherwise. */
export function logCallFailure(log: Logger, msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
  const line = { err: errorText(err), ...fields };
  if (err instanceof ControlPlaneUnreachable) log.debug(msg, line);
  else log.warn(msg, line);
}
