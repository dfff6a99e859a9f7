-- The database's own check of the uniqueness law over grouped destination claims (what the unique
-- index and the range exclusion constraint on per-VM rows used to be). A writer whose destination
-- claims changed calls it last in its transaction, while it holds the advisory locks of every
-- (scope, backend address) it claims, so no competing writer of those addresses can commit in
-- between. It raises exclusion_violation (23P01) as the constraint did: the writer re-runs once and
-- the domain explains the conflict. Cost: one index probe per backend address of the load balancer;
-- groups are joined only where another load balancer has the same address in the same scope.
CREATE FUNCTION lbplane_check_destination_claims(lb uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    hit record;
BEGIN
    -- Shared addresses first (index probes): joining this load balancer's groups first would expand
    -- its 150,000 per-VM claims at Standard limits.
    WITH shared AS MATERIALIZED (
        SELECT me.set_key AS my_set, me.backend_address, ot.load_balancer_id AS other, ot.set_key AS other_set
        FROM destination_claim_members me
        JOIN destination_claim_members ot
          ON ot.scope = me.scope AND ot.backend_address = me.backend_address AND ot.load_balancer_id <> me.load_balancer_id
        WHERE me.load_balancer_id = lb
    )
    SELECT s.backend_address, COALESCE(mine.destination_ip, s.backend_address) AS destination_ip, mine.protocol,
           mine.owner, s.other
    INTO hit
    FROM shared s
    JOIN destination_claim_groups mine ON mine.load_balancer_id = lb AND mine.set_key = s.my_set
    JOIN destination_claim_groups theirs ON theirs.load_balancer_id = s.other AND theirs.set_key = s.other_set
    WHERE COALESCE(mine.destination_ip, s.backend_address) = COALESCE(theirs.destination_ip, s.backend_address)
      AND mine.protocol = theirs.protocol
      AND mine.port_low <= theirs.port_high AND theirs.port_low <= mine.port_high
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'destination claim of rule % on % (% to %) overlaps one of load balancer %',
            hit.owner, hit.backend_address, hit.protocol, hit.destination_ip, hit.other
            USING ERRCODE = 'exclusion_violation';
    END IF;
END
$$;
