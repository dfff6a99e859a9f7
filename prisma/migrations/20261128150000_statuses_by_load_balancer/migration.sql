-- Per-agent outcomes by load balancer: settling operations reads the refusals of many load balancers
-- in one statement (one probe each, refusals being rare), and deleting a load balancer cascades to
-- its outcomes. The primary key leads with the agent, so both scanned the whole table: 100 agents ×
-- 10,000 load balancers is a million rows.
CREATE INDEX "agent_load_balancer_statuses_load_balancer_id_state_idx" ON "agent_load_balancer_statuses"("load_balancer_id", "state");
