// Policy routing for floating IP: fwmark M → route table M → "default via DIP". The packet keeps its
// destination VIP:port and is simply forwarded to the chosen VM, which holds the VIP on its loopback.
//
// IPv6 floating-IP backends get the same, in `ip -6` (a mark belongs to one DIP, so to one family).
//
// Everything lbplane adds is recognisable without any local state file: ip rules at priority RULE_PRIORITY
// with a mark in MARK_BASE/16, and route tables whose id equals that mark. So sync() diffs against what the
// kernel actually has — a crash mid-apply, or a previous agent run, leaves nothing sync() cannot reconcile.

import type { CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { DriverRefusal } from "../driver.js";
import { MARK_BASE, MARK_MASK, MAX_MARKS, hex } from "./render.js";
import type { Runner } from "./exec.js";

/** Before the main table (32766); fixed, so stale rules of an earlier run are found again. */
export const RULE_PRIORITY = 20050;

const ours = (n: number): boolean => (n & MARK_MASK) >>> 0 === MARK_BASE;

interface KernelRule {
  priority?: number;
  fwmark?: string;
  table?: string;
}

type IpFamily = "-4" | "-6";
const FAMILIES: IpFamily[] = ["-4", "-6"];
const familyOfDip = (dip: string): IpFamily => (dip.includes(":") ? "-6" : "-4");

export class PolicyRoutes {
  constructor(private readonly run: Runner) {}

  private async currentMarks(f: IpFamily): Promise<Set<number>> {
    const rules = JSON.parse((await this.run("ip", [f, "-j", "rule", "show"])) || "[]") as KernelRule[];
    const marks = new Set<number>();
    for (const r of rules) {
      if (r.priority !== RULE_PRIORITY || !r.fwmark) continue;
      const m = Number.parseInt(r.fwmark, 16) >>> 0;
      if (ours(m)) marks.add(m);
    }
    return marks;
  }

  /**
   * Make the kernel hold exactly `desired` (DIP → mark): routes replaced (idempotent), missing rules added,
   * rules of marks no longer wanted deleted with their tables. One `ip -batch` process for the whole diff.
   */
  async sync(desired: Map<string, number>): Promise<void> {
    for (const f of FAMILIES) await this.syncFamily(f, new Map([...desired].filter(([dip]) => familyOfDip(dip) === f)));
  }

  private async syncFamily(f: IpFamily, desired: Map<string, number>): Promise<void> {
    const have = await this.currentMarks(f);
    const cmds: string[] = [];
    const want = new Set<number>();
    for (const [dip, mark] of desired) {
      want.add(mark);
      cmds.push(`route replace default via ${dip} table ${mark}`);
      if (!have.has(mark)) cmds.push(`rule add priority ${RULE_PRIORITY} fwmark ${hex(mark)} table ${mark}`);
    }
    for (const mark of have) {
      if (want.has(mark)) continue;
      cmds.push(`rule del priority ${RULE_PRIORITY} fwmark ${hex(mark)} table ${mark}`);
      cmds.push(`route flush table ${mark}`);
    }
    if (cmds.length > 0) await this.batch(cmds, false, f);
  }

  /** Start/close: drop every lbplane rule and every route table in lbplane's id range, even orphaned ones. */
  async removeAll(): Promise<void> {
    await this.sync(new Map());
    for (const f of FAMILIES) {
      const routes = JSON.parse((await this.run("ip", [f, "-j", "route", "show", "table", "all"])) || "[]") as KernelRule[];
      const tables = new Set(routes.map((r) => Number(r.table)).filter((t) => Number.isInteger(t) && ours(t)));
      if (tables.size > 0) await this.batch([...tables].map((t) => `route flush table ${t}`), false, f);
    }
  }

  /** Rollback after a failed apply: empty the route tables of marks that were being introduced. */
  async flushTables(marks: Iterable<number>): Promise<void> {
    const cmds = [...marks].map((m) => `route flush table ${m}`);
    if (cmds.length === 0) return;
    for (const f of FAMILIES) await this.batch(cmds, true, f).catch(() => undefined);
  }

  /** One `ip` process for many commands; it stops at the first failing line (and names it) unless forced. */
  private async batch(cmds: string[], force: boolean, f: IpFamily): Promise<void> {
    await this.run("ip", [f, ...(force ? ["-force"] : []), "-batch", "-"], cmds.join("\n") + "\n");
  }
}

/**
 * Marks for every floating-IP DIP of `lbs`; DIPs in `current` keep theirs so established flows (whose ct mark
 * names the DIP) stay put. `cursor` rotates through the range, so a freed mark is not reused at once.
 */
export function allocateMarks(current: Map<string, number>, lbs: Iterable<CompiledLoadBalancer>, cursor: { next: number }): Map<string, number> {
  const out = new Map<string, number>();
  const taken = new Set(current.values());
  for (const lb of lbs)
    for (const l of lb.listeners) {
      if (!l.enableFloatingIP) continue;
      for (const b of l.backends) {
        if (out.has(b.address)) continue;
        let m = current.get(b.address);
        for (let tries = 0; m === undefined; tries++) {
          if (tries >= MAX_MARKS) throw new DriverRefusal(`more than ${MAX_MARKS} floating IP backends on one agent`);
          const candidate = (MARK_BASE | cursor.next) >>> 0;
          cursor.next = (cursor.next % MAX_MARKS) + 1;
          if (!taken.has(candidate)) m = candidate;
        }
        taken.add(m);
        out.set(b.address, m);
      }
    }
  return out;
}
