// Several lbplane replicas (in-process, each with its own control loops and listening on loopback) on
// ONE database, which survives any replica's restart: the setting the incremental-push protocol must
// be right in — deltas from two pushers, a control plane that forgets everything it held in memory.

import { loadConfig } from "../../src/config.js";
import { compileLoadBalancer } from "../../src/domain/compile.js";
import { composeLbplane, type Lbplane } from "../../src/lbplane.js";
import { readLocationChanges } from "../../src/store/load-balancer-versions.store.js";
import { poolOf } from "../../src/store/prisma.js";
import { TokenStore } from "../../src/store/tokens.js";
import { ADMIN_TOKEN } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { FakeAgent } from "./fake-agent.js";
import { JOIN_TOKEN } from "./harness.js";

export interface Replica {
  lbplane: Lbplane;
  url: string;
}

export class ReplicaSet {
  readonly replicas: Replica[] = [];
  readonly agents: FakeAgent[] = [];
  private constructor(
    readonly database: TestDatabase,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(count: number, env: NodeJS.ProcessEnv = {}): Promise<ReplicaSet> {
    const set = new ReplicaSet(await createTestDatabase(), { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "2000", ...env });
    for (let i = 0; i < count; i++) set.replicas.push(await set.startReplica());
    return set;
  }

  private async startReplica(port = 0): Promise<Replica> {
    const tokens = new TokenStore();
    tokens.add(ADMIN_TOKEN, { name: "admin" });
    const lbplane = await composeLbplane({
      config: loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused", ...this.env }),
      databaseUrl: this.database.url,
      tokens,
      logger: false,
      poolSize: 4,
      controlLoops: { sweepMs: 250 },
    });
    const url = await lbplane.app.listen({ host: "127.0.0.1", port });
    return { lbplane, url };
  }

  /**
   * Stops replica `i` (everything it held in memory is gone) and starts a fresh one in its place, on
   * the same port so its agents find it again; `whileDown` runs in between.
   */
  async restart(i: number, whileDown?: () => Promise<void>): Promise<Replica> {
    const port = Number(new URL(this.replicas[i].url).port);
    await this.stop(i);
    await whileDown?.();
    this.replicas[i] = await this.startReplica(port);
    return this.replicas[i];
  }

  async stop(i: number): Promise<void> {
    const r = this.replicas[i];
    r.lbplane.app.server.closeAllConnections?.();
    await r.lbplane.close({ graceMs: 10_000 });
  }

  /** A fake agent registered (and heartbeating) through replica `via`. */
  async addAgent(name: string, via = 0): Promise<FakeAgent> {
    const agent = new FakeAgent(name, this.replicas[via].url);
    await agent.start();
    await agent.register(JOIN_TOKEN);
    agent.startHeartbeats();
    this.agents.push(agent);
    return agent;
  }

  /** What every agent of the location must serve, straight from the database: ARM id → version. */
  async databaseState(location = "westeurope"): Promise<{ generation: number; versions: Map<string, string> }> {
    // Everything since generation -1: the whole location in one snapshot, as a full push reads it.
    const snapshot = await readLocationChanges(poolOf(this.replicas[0].lbplane.db), location, -1n, []);
    const versions = new Map<string, string>();
    for (const lb of snapshot.documents) {
      const compiled = compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
      versions.set(compiled.id, compiled.version);
    }
    return { generation: Number(snapshot.generation), versions };
  }

  /** The generation lbplane's database records as acknowledged by agent `agent` (-1 before any ACK). */
  async recordedAck(agent: FakeAgent): Promise<number> {
    const { rows } = await poolOf(this.replicas[0].lbplane.db).query<{ acked: string }>(
      "SELECT acked_generation::text AS acked FROM agents WHERE id = $1::uuid",
      [agent.reg!.agentId],
    );
    return Number(rows[0]?.acked ?? -1);
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.kill()));
    for (let i = 0; i < this.replicas.length; i++) {
      if (i === this.replicas.length - 1) {
        const r = this.replicas[i];
        r.lbplane.app.server.closeAllConnections?.();
        await r.lbplane.close({ beforeDisconnect: () => this.database.drop(), graceMs: 10_000 });
      } else await this.stop(i);
    }
  }
}

/** ARM id → version of what a fake agent serves. */
export function servedVersions(agent: FakeAgent): Map<string, string> {
  return new Map([...agent.serving.values()].map((lb) => [lb.id, lb.version]));
}
