-- Destination claims grow with rules x backend addresses (150,000 rows for a load balancer at
-- Standard limits); a GiST exclusion constraint over all of them made such a PUT take ~45 s.
-- Single-port claims (nearly all of them) get a plain unique index instead; the exclusion
-- constraint stays for port ranges (HA ports, NAT port ranges), and writers serialise on advisory
-- locks of the (scope, backend address) keys they touch, so a range-vs-port race is decided by the
-- domain check that runs under those locks.

-- DropConstraint
ALTER TABLE "destination_claims" DROP CONSTRAINT "destination_claims_no_overlap";

-- CreateIndex
CREATE UNIQUE INDEX "destination_claims_scope_backend_address_destination_ip_pro_key" ON "destination_claims"("scope", "backend_address", "destination_ip", "protocol", "port_low");

ALTER TABLE "destination_claims" ADD CONSTRAINT "destination_claims_ranges_no_overlap"
    EXCLUDE USING gist ("scope" WITH =, "backend_address" WITH =, "destination_ip" WITH =,
                        "protocol" WITH =, int4range("port_low", "port_high", '[]') WITH &&)
    WHERE ("port_low" <> "port_high");
