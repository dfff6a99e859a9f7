-- Incremental push (protocol version 2, src/domain/agent-protocol.ts): "what changed in a location
-- since generation B" must be answerable from the database alone, so any replica (or a restarted
-- one) can build a delta.
--   * changed load balancers: load_balancers.generation > B, found by the (location, generation) index;
--   * deleted ones: a tombstone per deleted load balancer, stamped with the location generation its
--     deletion committed at. Every path that deletes a load balancer (its DELETE, a resource group
--     delete) leaves one, because a trigger writes it — no writer can forget.
-- The deleting transaction bumps the location generation after the row is gone, so the trigger
-- cannot know the generation yet: it inserts the tombstone with none, and a deferred constraint
-- trigger stamps it at COMMIT, when the location's generation row is final (the transaction holds
-- its row lock until then, so nothing else can have moved it).
-- Tombstones every live agent has acknowledged are pruned; location_tombstone_horizons keeps how far,
-- so an agent that comes back from further behind gets the full state instead of a wrong delta.

-- CreateIndex
CREATE INDEX "load_balancers_location_generation_idx" ON "load_balancers"("location", "generation");

-- CreateTable
CREATE TABLE "load_balancer_tombstones" (
    "load_balancer_id" UUID NOT NULL,
    "location" TEXT NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "resource_group_name" TEXT,
    "name" TEXT NOT NULL,
    "generation" BIGINT,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "load_balancer_tombstones_pkey" PRIMARY KEY ("load_balancer_id")
);

-- CreateIndex
CREATE INDEX "load_balancer_tombstones_location_generation_idx" ON "load_balancer_tombstones"("location", "generation");

-- CreateTable
CREATE TABLE "location_tombstone_horizons" (
    "location" TEXT NOT NULL,
    "pruned_through" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "location_tombstone_horizons_pkey" PRIMARY KEY ("location")
);

CREATE FUNCTION lbplane_record_load_balancer_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO load_balancer_tombstones (load_balancer_id, location, subscription_id, resource_group_name, name)
  VALUES (OLD.id, OLD.location, OLD.subscription_id,
          (SELECT rg.name FROM resource_groups rg WHERE rg.id = OLD.resource_group_id), OLD.name)
  ON CONFLICT (load_balancer_id) DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER load_balancers_tombstone AFTER DELETE ON load_balancers
  FOR EACH ROW EXECUTE FUNCTION lbplane_record_load_balancer_tombstone();

CREATE FUNCTION lbplane_stamp_load_balancer_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE load_balancer_tombstones t
     SET generation = COALESCE((SELECT g.generation FROM location_generations g WHERE g.location = t.location), 0)
   WHERE t.load_balancer_id = NEW.load_balancer_id AND t.generation IS NULL;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER load_balancer_tombstones_stamp AFTER INSERT ON load_balancer_tombstones
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION lbplane_stamp_load_balancer_tombstone();
