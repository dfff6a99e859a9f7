-- Traffic metrics (Azure Monitor's load balancer metrics): one row per (load balancer, minute, metric,
-- dimension combination), summed over every agent's reports in that minute (src/store/metrics.store.ts).
-- Dimensions that do not apply are '' / 0, so the primary key stays a plain composite key.
-- Rows are deleted after LBPLANE_TRAFFIC_METRICS_RETENTION_DAYS by the control loops' prune, which
-- reads the oldest minutes through the minute index; a deleted load balancer takes its rows with it.

-- CreateTable
CREATE TABLE "traffic_metrics" (
    "load_balancer_id" UUID NOT NULL,
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "metric" TEXT NOT NULL,
    "frontend_ip" TEXT NOT NULL,
    "frontend_port" INTEGER NOT NULL,
    "protocol" TEXT NOT NULL,
    "backend_ip" TEXT NOT NULL,
    "backend_port" INTEGER NOT NULL,
    "direction" TEXT NOT NULL,
    "total" DOUBLE PRECISION NOT NULL,
    "count" DOUBLE PRECISION NOT NULL,
    "minimum" DOUBLE PRECISION NOT NULL,
    "maximum" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "traffic_metrics_pkey" PRIMARY KEY ("load_balancer_id","minute","metric","frontend_ip","frontend_port","protocol","backend_ip","backend_port","direction")
);

-- CreateIndex
CREATE INDEX "traffic_metrics_minute_idx" ON "traffic_metrics"("minute");

-- AddForeignKey
ALTER TABLE "traffic_metrics" ADD CONSTRAINT "traffic_metrics_load_balancer_id_fkey" FOREIGN KEY ("load_balancer_id") REFERENCES "load_balancers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
