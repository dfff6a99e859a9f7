-- Finished operations are pruned after LBPLANE_OPERATION_RETENTION_HOURS (src/store/operations.store.ts,
-- from the control loops' sweep): the prune looks for the oldest end_time in bounded batches, which
-- this index answers without reading the whole table. In-progress rows (end_time NULL) never match.

-- CreateIndex
CREATE INDEX "operations_end_time_idx" ON "operations"("end_time");
