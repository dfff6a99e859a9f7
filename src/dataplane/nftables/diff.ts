// Incremental update: the difference between what the kernel holds (a TableState rendered earlier) and
// what it should hold, as ONE nft transaction of add/delete/flush statements. nft applies a file
// atomically, so a refused statement leaves every earlier one undone: the previous rules stay in force.
// A change to one listener therefore costs one small transaction instead of re-creating the whole table
// (~0.8 s for 1,500 rules), and the base chains (mangle, nat) are never touched.
//
// Statement order matters inside the transaction, because the kernel refuses to delete an object that is
// still referenced and nft resolves names as it goes:
//   1. delete dispatch elements that go away or change target (they reference listener chains)
//   2. delete / flush listener chains (their rules reference slot maps)
//   3. delete slot maps being removed or re-declared
//   4. add slot maps, flush + add changed elements
//   5. add chains and their rules
//   6. create dispatch elements ("create", not "add": a frontend another listener already holds is refused
//      with "File exists", exactly as in the full table, instead of being silently kept)
//
// nft 1.0.6 quirk that shapes step 3: a rule added to an EXISTING `typeof … : ip daddr . th dport` map is
// refused ("conflicting protocols specified: tcp vs. th") because nft re-evaluates the map's typeof, read
// back from the kernel, in the rule's tcp context. A map declared in the same transaction is fine. So
// whenever a chain that uses the slot map is (re)built, the map is deleted and re-declared with it (same
// name, same transaction), and its elements re-added.

import { mapsOf, verdictOf, type ChainObject, type DispatchEntry, type ListenerObjects, type TableState } from "./render.js";

const sameRules = (a: ChainObject | undefined, b: ChainObject | undefined): boolean =>
  a !== undefined && b !== undefined && a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);

/** Whether the listener's maps must be re-declared: a name or type changed, or a chain using them is rebuilt. */
function mapRebuilt(prev: ListenerObjects, next: ListenerObjects): boolean {
  const shape = (o: ListenerObjects) => mapsOf(o).map((m) => `${m.name} ${m.type}`).join("|");
  if (shape(prev) !== shape(next)) return true;
  const names = new Set([...prev.chains, ...next.chains].filter((c) => c.usesMap).map((c) => c.name));
  for (const n of names) {
    const a = prev.chains.find((c) => c.name === n);
    const b = next.chains.find((c) => c.name === n);
    if (!sameRules(a, b)) return true;
  }
  return false;
}

const dispatchId = (o: ListenerObjects, d: DispatchEntry): string => `${o.family}\0${d.map}\0${d.key}`;

/**
 * The transaction turning `prev` into `next` (both complete table states), or "" when nothing changes.
 * Cost is proportional to what changed, plus one string compare per unchanged listener.
 */
export function renderDiff(prev: TableState, next: TableState, tableName: string): string {
  let t = ""; // the table of the object being handled: `ip <name>` or `ip6 <name>`
  const on = (o: ListenerObjects): void => {
    t = `${o.family} ${tableName}`;
  };
  const s1: string[] = [];
  const s2: string[] = [];
  const s3: string[] = [];
  const s4: string[] = [];
  const s5: string[] = [];
  const s6: string[] = [];

  const timeoutNames = (o: ListenerObjects | undefined) => new Set((o?.timeouts ?? []).map((x) => x.name));
  /** Timeout policies: declared before the rules naming them (s4), deleted after those rules went (s3). */
  const syncTimeouts = (p: ListenerObjects | undefined, n: ListenerObjects | undefined): void => {
    const had = timeoutNames(p);
    const has = timeoutNames(n);
    for (const x of p?.timeouts ?? []) if (!has.has(x.name)) s3.push(`delete ct timeout ${t} ${x.name}`);
    for (const x of n?.timeouts ?? []) if (!had.has(x.name)) s4.push(`add ct timeout ${t} ${x.name} ${x.body}`);
  };
  const addMap = (o: ListenerObjects): void => {
    for (const m of mapsOf(o)) {
      s4.push(`add map ${t} ${m.name} { ${m.type}; }`);
      if (m.elements) s4.push(`add element ${t} ${m.name} { ${m.elements} }`);
    }
  };
  const addRules = (c: ChainObject): void => {
    for (const r of c.rules) s5.push(`add rule ${t} ${c.name} ${r}`);
  };

  // Traffic counters (traffic.ts) come with their listener; `add` keeps an existing counter's value. A diff
  // never deletes one: the driver removes unreferenced counters after a grace period (OrphanCounters).
  const counterChanges = (p: ListenerObjects | undefined, n: ListenerObjects | undefined): void => {
    const had = new Set((p?.counters ?? []).map((c) => c.name));
    for (const c of n?.counters ?? []) if (!had.has(c.name)) s4.push(`add counter ${t} ${c.name}`);
  };

  for (const [k, p] of prev) {
    if (next.get(k)?.family === p.family) continue;
    on(p);
    for (const c of p.chains) s2.push(`delete chain ${t} ${c.name}`);
    for (const m of mapsOf(p)) s3.push(`delete map ${t} ${m.name}`);
    syncTimeouts(p, undefined);
  }
  for (const [k, n] of next) {
    const found = prev.get(k);
    if (found === n) continue; // reused by renderState: unchanged by construction
    const p = found?.family === n.family ? found : undefined; // a family change is a delete and an add
    on(n);
    syncTimeouts(p, n);
    counterChanges(p, n);
    if (!p) {
      addMap(n);
      for (const c of n.chains) {
        s5.push(`add chain ${t} ${c.name}`);
        addRules(c);
      }
      continue;
    }
    const rebuild = mapRebuilt(p, n);
    if (rebuild) {
      for (const m of mapsOf(p)) s3.push(`delete map ${t} ${m.name}`);
      addMap(n);
    } else {
      const old = mapsOf(p);
      mapsOf(n).forEach((m, i) => {
        if (old[i].elements === m.elements) return;
        s4.push(`flush map ${t} ${m.name}`);
        if (m.elements) s4.push(`add element ${t} ${m.name} { ${m.elements} }`);
      });
    }
    for (const c of p.chains) if (!n.chains.some((x) => x.name === c.name)) s2.push(`delete chain ${t} ${c.name}`);
    for (const c of n.chains) {
      const old = p.chains.find((x) => x.name === c.name);
      if (!old) {
        s5.push(`add chain ${t} ${c.name}`);
        addRules(c);
      } else if (!sameRules(old, c) || (rebuild && c.usesMap)) {
        // Flush and refill in the same transaction: packets see the old rules or the new ones, never none.
        s2.push(`flush chain ${t} ${c.name}`);
        addRules(c);
      }
    }
  }

  // Dispatch: compared by (map, key) over the whole table, since a frontend can move between listeners.
  const before = new Map<string, string>();
  for (const p of prev.values()) for (const d of p.dispatch) before.set(dispatchId(p, d), d.chain);
  const kept = new Set<string>();
  for (const n of next.values())
    for (const d of n.dispatch) {
      const id = dispatchId(n, d);
      on(n);
      if (before.get(id) === d.chain && !kept.has(id)) kept.add(id);
      else s6.push(`create element ${t} ${d.map} { ${d.key} : ${verdictOf(d)} }`); // a duplicate fails here
    }
  for (const p of prev.values())
    for (const d of p.dispatch) {
      on(p);
      if (!kept.has(dispatchId(p, d))) s1.push(`delete element ${t} ${d.map} { ${d.key} }`);
    }

  const all = [...s1, ...s2, ...s3, ...s4, ...s5, ...s6];
  return all.length === 0 ? "" : all.join("\n") + "\n";
}
