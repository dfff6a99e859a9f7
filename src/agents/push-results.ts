// What a batch of ACKs means before it is recorded (src/store/push-locks.store.ts records it, many
// agents per statement): per agent, one outcome per load balancer the push carried (a delta's
// outcomes replace only those load balancers' rows; a full push's replace them all) — a refusal wins
// over an "Applied" for the same id, and ids that were not in the push are ignored, so nothing an
// agent sends can create or change a load balancer — and the last error a refusal leaves behind.

import type { ConfigAck } from "../domain/agent-protocol.js";
import type { AckColumns, AgentEpoch } from "../store/push-locks.store.js";
import type { DesiredState } from "./desired-state.js";

export interface AckToRecord {
  agent: AgentEpoch;
  state: DesiredState;
  ack: ConfigAck;
}

export interface FoldedAcks {
  columns: AckColumns;
  /** Refused load balancers per agent id. */
  refusedBy: Map<string, number>;
}

export function foldAcks(acks: AckToRecord[]): FoldedAcks {
  const columns: AckColumns = { agents: [], outcomes: [] };
  const refusedBy = new Map<string, number>();
  for (const { agent, state, ack } of acks) {
    // One outcome per load balancer: an ACK naming one twice (untrusted input) must not make the
    // batch's upsert touch a row twice.
    const byUid = new Map<string, { state: "Applied" | "Refused"; detail: string | null }>();
    for (const o of ack.loadBalancers) {
      const uid = state.uidByArmId.get(o.id.toLowerCase());
      if (!uid) continue;
      const prev = byUid.get(uid);
      if (prev?.state === "Refused") continue;
      byUid.set(uid, { state: o.state, detail: o.state === "Refused" ? o.detail : null });
    }
    let refused = 0;
    let firstDetail: string | null = null;
    for (const [uid, o] of byUid) {
      columns.outcomes.push({ agentId: agent.id, loadBalancerUid: uid, state: o.state, detail: o.detail });
      if (o.state === "Refused") {
        refused++;
        firstDetail ??= o.detail;
      }
    }
    refusedBy.set(agent.id, refused);
    const lastError = refused ? `refused ${refused} load balancer(s) at generation ${state.generation}: ${firstDetail}`.slice(0, 1000) : null;
    columns.agents.push({ agent, generation: state.generation, full: state.from === "full", lastError });
  }
  return { columns, refusedBy };
}
