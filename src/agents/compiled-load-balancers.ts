// Compiled load balancers of one location, kept by (uid, generation): a load balancer is compiled
// and serialised to JSON once per write, whatever the number of agents and pushes that carry it.
// A write touches only its own entry, so the cost of a change is the cost of what changed.

import type { CompiledLoadBalancer } from "../domain/agent-protocol.js";
import { compileLoadBalancer } from "../domain/compile.js";
import type { LocationChanges } from "../store/load-balancer-versions.store.js";

export interface CompiledEntry {
  uid: string;
  generation: bigint;
  lb: CompiledLoadBalancer;
  /** JSON.stringify(lb), spliced into every push body that carries this version. */
  json: string;
}

export class CompiledLocation {
  private readonly entries = new Map<string, CompiledEntry>();

  /** The (uid, generation) pairs held with a generation above `base`: what a read need not send. */
  knownAbove(base: bigint): Array<{ uid: string; generation: bigint }> {
    const known: Array<{ uid: string; generation: bigint }> = [];
    for (const e of this.entries.values()) if (e.generation > base) known.push({ uid: e.uid, generation: e.generation });
    return known;
  }

  /**
   * Takes in a read: compiles the documents it carried, forgets deleted load balancers (and, for a
   * full read, everything the location no longer has), and answers the entries of the changed set.
   * An entry newer than the read (another read raced ahead) is kept and used: a push may carry a
   * version newer than its generation, never an older one.
   */
  absorb(changes: LocationChanges, full: boolean): CompiledEntry[] {
    for (const doc of changes.documents) {
      const held = this.entries.get(doc.uid);
      if (held && held.generation >= doc.generation) continue;
      const lb = compileLoadBalancer(doc.spec, { address: doc.address, publicIps: doc.publicIps });
      this.entries.set(doc.uid, { uid: doc.uid, generation: doc.generation, lb, json: JSON.stringify(lb) });
    }
    for (const r of changes.removed) this.entries.delete(r.uid);
    if (full) {
      const present = new Set(changes.changed.map((c) => c.uid));
      // Entries newer than this snapshot came from a later read: not this read's to judge.
      for (const [uid, e] of this.entries) if (!present.has(uid) && e.generation <= changes.generation) this.entries.delete(uid);
    }
    return changes.changed.map((c) => {
      const e = this.entries.get(c.uid);
      if (!e || e.generation < c.generation) throw new Error(`load balancer ${c.uid} at generation ${c.generation} was neither known nor read`);
      return e;
    });
  }

  get size(): number {
    return this.entries.size;
  }
}
