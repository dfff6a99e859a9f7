-- SnatConnectionCount's ConnectionState dimension (Azure's: Successful, Failed — a new outbound flow
-- refused because its backend's SNAT block was exhausted). One more dimension column; '' for every
-- other metric, so existing rows keep their meaning and the primary key stays a plain composite key.

-- AlterTable
ALTER TABLE "traffic_metrics" ADD COLUMN "connection_state" TEXT NOT NULL DEFAULT '';
ALTER TABLE "traffic_metrics" DROP CONSTRAINT "traffic_metrics_pkey",
  ADD CONSTRAINT "traffic_metrics_pkey" PRIMARY KEY ("load_balancer_id","minute","metric","frontend_ip","frontend_port","protocol","backend_ip","backend_port","direction","connection_state");
