-- The live records of a subnet counted from an index alone (the allocator
-- checks that its cached set of held addresses is still exact).
CREATE INDEX ip_allocations_subnet_state ON ip_allocations (cluster, subnet, state, id);
