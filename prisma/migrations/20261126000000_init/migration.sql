-- lbplane initial schema. Written by hand in Prisma Migrate's layout (the schema engine cannot be
-- downloaded on our build machines); test/store/schema-match.test.ts checks it against schema.prisma.

-- GiST exclusion constraints over (text =, int4range &&) need btree_gist.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- CreateTable
CREATE TABLE "resource_groups" (
    "id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "managed_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "resource_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public_ip_addresses" (
    "id" UUID NOT NULL,
    "resource_group_id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "etag" TEXT NOT NULL,
    "sku_name" TEXT NOT NULL DEFAULT 'Standard',
    "sku_tier" TEXT NOT NULL DEFAULT 'Regional',
    "allocation_method" TEXT NOT NULL DEFAULT 'Static',
    "ip_version" TEXT NOT NULL DEFAULT 'IPv4',
    "ip_address" TEXT,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "zones" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "public_ip_addresses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "load_balancers" (
    "id" UUID NOT NULL,
    "resource_group_id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "etag" TEXT NOT NULL,
    "sku_name" TEXT NOT NULL DEFAULT 'Standard',
    "sku_tier" TEXT NOT NULL DEFAULT 'Regional',
    "provisioning_state" TEXT NOT NULL DEFAULT 'Succeeded',
    "generation" BIGINT NOT NULL DEFAULT 0,
    "extended_location" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "load_balancers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "frontend_ip_configurations" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "private_ip_address" TEXT,
    "public_ip_address_id" UUID,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "zones" JSONB,

    CONSTRAINT "frontend_ip_configurations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "backend_address_pools" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "backend_address_pools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "backend_addresses" (
    "id" UUID NOT NULL,
    "pool_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "ip_address" TEXT,
    "virtual_network_id" TEXT,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "backend_addresses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "load_balancing_rules" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "protocol" TEXT NOT NULL,
    "frontend_port" INTEGER NOT NULL,
    "backend_port" INTEGER NOT NULL,
    "enable_floating_ip" BOOLEAN NOT NULL DEFAULT false,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "load_balancing_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "probes" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "protocol" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "probes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_nat_rules" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "protocol" TEXT NOT NULL,
    "frontend_port" INTEGER,
    "backend_port" INTEGER NOT NULL,
    "enable_floating_ip" BOOLEAN NOT NULL DEFAULT false,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "inbound_nat_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_rules" (
    "id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "outbound_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "frontend_claims" (
    "id" BIGSERIAL NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "ip_address" TEXT NOT NULL,
    "protocol" TEXT NOT NULL,
    "port_low" INTEGER NOT NULL,
    "port_high" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "owner_kind" TEXT NOT NULL,

    CONSTRAINT "frontend_claims_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "destination_claims" (
    "id" BIGSERIAL NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "backend_address" TEXT NOT NULL,
    "destination_ip" TEXT NOT NULL,
    "protocol" TEXT NOT NULL,
    "port_low" INTEGER NOT NULL,
    "port_high" INTEGER NOT NULL,
    "enable_floating_ip" BOOLEAN NOT NULL,
    "owner" TEXT NOT NULL,
    "owner_kind" TEXT NOT NULL,

    CONSTRAINT "destination_claims_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "operations" (
    "id" UUID NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "load_balancer_id" UUID,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'InProgress',
    "generation" BIGINT NOT NULL DEFAULT 0,
    "error" JSONB,
    "start_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "end_time" TIMESTAMPTZ(3),

    CONSTRAINT "operations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "location_generations" (
    "location" TEXT NOT NULL,
    "generation" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "location_generations_pkey" PRIMARY KEY ("location")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "capabilities" JSONB NOT NULL DEFAULT '{}',
    "credential_hash" TEXT NOT NULL,
    "push_token" TEXT NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "desired_generation" BIGINT NOT NULL DEFAULT 0,
    "acked_generation" BIGINT NOT NULL DEFAULT -1,
    "last_push_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_load_balancer_statuses" (
    "agent_id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "generation" BIGINT NOT NULL,
    "state" TEXT NOT NULL,
    "detail" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_load_balancer_statuses_pkey" PRIMARY KEY ("agent_id","load_balancer_id")
);

-- CreateTable
CREATE TABLE "probe_health" (
    "agent_id" UUID NOT NULL,
    "load_balancer_id" UUID NOT NULL,
    "probe_name" TEXT NOT NULL,
    "backend_address" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "probe_health_pkey" PRIMARY KEY ("agent_id","load_balancer_id","probe_name","backend_address")
);

-- CreateIndex
CREATE UNIQUE INDEX "resource_groups_subscription_id_name_key_key" ON "resource_groups"("subscription_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "public_ip_addresses_ip_address_key" ON "public_ip_addresses"("ip_address");

-- CreateIndex
CREATE INDEX "public_ip_addresses_subscription_id_idx" ON "public_ip_addresses"("subscription_id");

-- CreateIndex
CREATE UNIQUE INDEX "public_ip_addresses_resource_group_id_name_key_key" ON "public_ip_addresses"("resource_group_id", "name_key");

-- CreateIndex
CREATE INDEX "load_balancers_subscription_id_idx" ON "load_balancers"("subscription_id");

-- CreateIndex
CREATE INDEX "load_balancers_location_idx" ON "load_balancers"("location");

-- CreateIndex
CREATE UNIQUE INDEX "load_balancers_resource_group_id_name_key_key" ON "load_balancers"("resource_group_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "frontend_ip_configurations_public_ip_address_id_key" ON "frontend_ip_configurations"("public_ip_address_id");

-- CreateIndex
CREATE UNIQUE INDEX "frontend_ip_configurations_load_balancer_id_name_key_key" ON "frontend_ip_configurations"("load_balancer_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "backend_address_pools_load_balancer_id_name_key_key" ON "backend_address_pools"("load_balancer_id", "name_key");

-- CreateIndex
CREATE INDEX "backend_addresses_pool_id_idx" ON "backend_addresses"("pool_id");

-- CreateIndex
CREATE INDEX "backend_addresses_ip_address_idx" ON "backend_addresses"("ip_address");

-- CreateIndex
CREATE UNIQUE INDEX "load_balancing_rules_load_balancer_id_name_key_key" ON "load_balancing_rules"("load_balancer_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "probes_load_balancer_id_name_key_key" ON "probes"("load_balancer_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "inbound_nat_rules_load_balancer_id_name_key_key" ON "inbound_nat_rules"("load_balancer_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "outbound_rules_load_balancer_id_name_key_key" ON "outbound_rules"("load_balancer_id", "name_key");

-- CreateIndex
CREATE INDEX "frontend_claims_load_balancer_id_idx" ON "frontend_claims"("load_balancer_id");

-- CreateIndex
CREATE INDEX "frontend_claims_scope_ip_address_idx" ON "frontend_claims"("scope", "ip_address");

-- CreateIndex
CREATE INDEX "destination_claims_load_balancer_id_idx" ON "destination_claims"("load_balancer_id");

-- CreateIndex
CREATE INDEX "destination_claims_scope_backend_address_idx" ON "destination_claims"("scope", "backend_address");

-- CreateIndex
CREATE INDEX "operations_status_location_idx" ON "operations"("status", "location");

-- CreateIndex
CREATE UNIQUE INDEX "agents_name_key" ON "agents"("name");

-- CreateIndex
CREATE INDEX "agents_location_idx" ON "agents"("location");

-- CreateIndex
CREATE INDEX "probe_health_load_balancer_id_idx" ON "probe_health"("load_balancer_id");

-- AddForeignKey
ALTER TABLE "public_ip_addresses" ADD CONSTRAINT "public_ip_addresses_resource_group_id_fkey" FOREIGN KEY ("resource_group_id") REFERENCES "resource_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "load_balancers" ADD CONSTRAINT "load_balancers_resource_group_id_fkey" FOREIGN KEY ("resource_group_id") REFERENCES "resource_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "frontend_ip_configurations" ADD CONSTRAINT "frontend_ip_configurations_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "frontend_ip_configurations" ADD CONSTRAINT "frontend_ip_configurations_public_ip_address_id_fkey" FOREIGN KEY ("public_ip_address_id") REFERENCES "public_ip_addresses"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backend_address_pools" ADD CONSTRAINT "backend_address_pools_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backend_addresses" ADD CONSTRAINT "backend_addresses_pool_id_fkey" FOREIGN KEY ("pool_id") REFERENCES "backend_address_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "load_balancing_rules" ADD CONSTRAINT "load_balancing_rules_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "probes" ADD CONSTRAINT "probes_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_nat_rules" ADD CONSTRAINT "inbound_nat_rules_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbound_rules" ADD CONSTRAINT "outbound_rules_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "frontend_claims" ADD CONSTRAINT "frontend_claims_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "destination_claims" ADD CONSTRAINT "destination_claims_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_load_balancer_statuses" ADD CONSTRAINT "agent_load_balancer_statuses_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_load_balancer_statuses" ADD CONSTRAINT "agent_load_balancer_statuses_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "probe_health" ADD CONSTRAINT "probe_health_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "probe_health" ADD CONSTRAINT "probe_health_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The uniqueness law as the database enforces it (not expressible in schema.prisma).
-- A frontend (IP, protocol, port range) belongs to one rule; HA ports hold 0..65535 of a protocol.
ALTER TABLE "frontend_claims" ADD CONSTRAINT "frontend_claims_no_overlap"
    EXCLUDE USING gist ("scope" WITH =, "ip_address" WITH =, "protocol" WITH =,
                        int4range("port_low", "port_high", '[]') WITH &&);

-- A destination (VM, destination IP, protocol, port range) is delivered to by one rule per scope
-- (location[/vnet] + load balancer type: a public and an internal LB may share a destination).
ALTER TABLE "destination_claims" ADD CONSTRAINT "destination_claims_no_overlap"
    EXCLUDE USING gist ("scope" WITH =, "backend_address" WITH =, "destination_ip" WITH =,
                        "protocol" WITH =, int4range("port_low", "port_high", '[]') WITH &&);
