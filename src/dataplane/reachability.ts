// Whether lbplane serves, told once per outage. An agent forwards on through a control-plane
// outage of hours; a warning per heartbeat (every 1.25 s), health report and traffic report would
// bury the lines an operator needs: when lbplane became unavailable, that it still is (once a
// minute), and when it came back. Unavailable: no answer at all (refused, reset, timed out), or 503
// (lbplane up, its database not). Any other answer, even an error, means lbplane is back.

import { errorText, type Logger } from "./log.js";

export class Reachability {
  private downSince: number | undefined;
  private failures = 0;
  private lastToldAt = 0;

  constructor(
    private readonly log: Logger,
    private readonly reminderMs = 60_000,
  ) {}

  /** A call got an answer other than 503. */
  reached(): void {
    if (this.downSince === undefined) return;
    this.log.info("control plane available again", { afterMs: Date.now() - this.downSince, failedCalls: this.failures });
    this.downSince = undefined;
    this.failures = 0;
  }

  /** A call got no answer (refused, reset, timed out) or a 503. */
  unavailable(call: string, err: unknown): void {
    const now = Date.now();
    this.failures++;
    if (this.downSince === undefined) {
      this.downSince = this.lastToldAt = now;
      this.log.warn("control plane unavailable; forwarding with the last configuration and retrying", { call, err: errorText(err) });
    } else if (now - this.lastToldAt >= this.reminderMs) {
      this.lastToldAt = now;
      this.log.warn("control plane still unavailable", { forMs: now - this.downSince, failedCalls: this.failures, err: errorText(err) });
    }
  }
}

/** lbplane did not answer, or answered 503; the client has logged the outage once. */
export class ControlPlaneUnavailable extends Error {
  override name = "ControlPlaneUnavailable";
  readonly code: string | undefined;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** A failed call's log line: debug when lbplane is unavailable (told once by the client), warn otherwise. */
export function logCallFailure(log: Logger, msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
  const line = { err: errorText(err), ...fields };
  if (err instanceof ControlPlaneUnavailable) log.debug(msg, line);
  else log.warn(msg, line);
}
