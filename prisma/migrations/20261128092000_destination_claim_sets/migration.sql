-- Destination claims were one row per (rule, backend address): 150,000 rows for one load balancer at
-- Azure's Standard limits (1,500 rules over pools totalling 5,000 addresses), whose insert alone took
-- seconds. Rules of one pool deliver to the same backend set, so a claim is now one row per rule
-- (destination_claim_groups) over a backend set stored once per load balancer
-- (destination_claim_members): O(rules + addresses) rows. The expanded claims remain readable as
-- the view destination_claims, which the competing-claims read uses with a predicate on
-- (scope, backend_address) that the planner pushes into the members' index.
--
-- Two writers of one flow still cannot both win: every writer takes transaction-scoped advisory
-- locks on the (scope, backend address) keys of its claims before reading the claims of others, and
-- the domain's check runs on that read (README: "How lbplane decides"). The per-row unique index and
-- the range exclusion constraint had become a backstop for that same lock order only.

-- CreateTable
CREATE TABLE "destination_claim_groups" (
    "id" BIGSERIAL NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "set_key" TEXT NOT NULL,
    "destination_ip" TEXT,
    "protocol" TEXT NOT NULL,
    "port_low" INTEGER NOT NULL,
    "port_high" INTEGER NOT NULL,
    "enable_floating_ip" BOOLEAN NOT NULL,
    "owner" TEXT NOT NULL,
    "owner_kind" TEXT NOT NULL,

    CONSTRAINT "destination_claim_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "destination_claim_members" (
    "load_balancer_id" UUID NOT NULL,
    "set_key" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "backend_address" TEXT NOT NULL,

    CONSTRAINT "destination_claim_members_pkey" PRIMARY KEY ("load_balancer_id","set_key","scope","backend_address")
);

-- CreateIndex
CREATE INDEX "destination_claim_groups_load_balancer_id_set_key_idx" ON "destination_claim_groups"("load_balancer_id", "set_key");

-- CreateIndex
CREATE INDEX "destination_claim_members_scope_backend_address_idx" ON "destination_claim_members"("scope", "backend_address");

-- AddForeignKey
ALTER TABLE "destination_claim_groups" ADD CONSTRAINT "destination_claim_groups_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "destination_claim_members" ADD CONSTRAINT "destination_claim_members_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing claims move over: one group per (rule, destination, protocol, ports), keyed by its sorted
-- member list (a key lbplane computes differently only costs a rewrite of that rule's group later).
CREATE TEMP TABLE claim_groups_moved ON COMMIT DROP AS
  SELECT load_balancer_id, subscription_id, owner, owner_kind, protocol, port_low, port_high, enable_floating_ip,
         NULLIF(destination_ip, backend_address) AS destination_ip,
         md5(string_agg(scope || '|' || backend_address, ',' ORDER BY scope COLLATE "C", backend_address COLLATE "C")) AS set_key,
         array_agg(scope) AS scopes, array_agg(backend_address) AS backends
  FROM destination_claims
  GROUP BY load_balancer_id, subscription_id, owner, owner_kind, protocol, port_low, port_high, enable_floating_ip,
           NULLIF(destination_ip, backend_address);

INSERT INTO "destination_claim_groups" (load_balancer_id, subscription_id, set_key, destination_ip, protocol, port_low, port_high,
                                        enable_floating_ip, owner, owner_kind)
  SELECT load_balancer_id, subscription_id, set_key, destination_ip, protocol, port_low, port_high, enable_floating_ip, owner, owner_kind
  FROM claim_groups_moved;

INSERT INTO "destination_claim_members" (load_balancer_id, set_key, scope, backend_address)
  SELECT DISTINCT g.load_balancer_id, g.set_key, m.scope, m.backend_address
  FROM claim_groups_moved g CROSS JOIN LATERAL unnest(g.scopes, g.backends) AS m(scope, backend_address);

-- DropTable
DROP TABLE "destination_claims";

-- The expanded claims, as before (the id is the group's and the member's: stable while both stay).
CREATE VIEW "destination_claims" AS
  SELECT g.id || ':' || m.scope || '|' || m.backend_address AS id,
         g.load_balancer_id, g.subscription_id, m.scope, m.backend_address,
         COALESCE(g.destination_ip, m.backend_address) AS destination_ip,
         g.protocol, g.port_low, g.port_high, g.enable_floating_ip, g.owner, g.owner_kind
  FROM "destination_claim_groups" g
  JOIN "destination_claim_members" m ON m.load_balancer_id = g.load_balancer_id AND m.set_key = g.set_key;
