-- What keeps two executors, two databases and a careless edit from doing
-- harm: the guests each action works on (one action per guest at a time),
-- why an approved action waits, and at most one open replication per
-- source and target node.

CREATE TABLE action_guests (
    action_id TEXT    NOT NULL REFERENCES actions (id),
    cluster   TEXT    NOT NULL,
    vmid      INTEGER NOT NULL,
    PRIMARY KEY (action_id, vmid)
);
CREATE INDEX action_guests_vmid ON action_guests (cluster, vmid);

ALTER TABLE actions ADD COLUMN waiting TEXT;

-- Clones (replica = 0) may go to a node any number of times; replicas may not.
ALTER TABLE replication_tasks ADD COLUMN replica INTEGER NOT NULL DEFAULT 1;
-- Rows of actions that ended stay as they were but no longer count as open.
UPDATE replication_tasks SET status = 'cleaned_up'
 WHERE status IN ('pending', 'running')
   AND action_id IN (SELECT id FROM actions
                      WHERE state IN ('succeeded', 'failed', 'rolled_back', 'rejected', 'cancelled'));
-- Duplicates made before this rule existed keep running, exempt from it.
UPDATE replication_tasks SET replica = 0
 WHERE status IN ('pending', 'running')
   AND id NOT IN (SELECT MIN(id) FROM replication_tasks
                   WHERE status IN ('pending', 'running')
                   GROUP BY cluster, source_vmid, target_node);
CREATE UNIQUE INDEX replication_tasks_open_replica
    ON replication_tasks (cluster, source_vmid, target_node)
    WHERE replica = 1 AND status IN ('pending', 'running');

-- A guest being re-addressed holds its live record and the reserved one
-- that replaces it, with the same MAC (or address): live records are
-- unique among the active ones and among the reserved ones; across the two
-- only one guest's records may share (checked by the engine).
DROP INDEX ip_allocations_live_ip;
DROP INDEX ip_allocations_live_mac;
CREATE UNIQUE INDEX ip_allocations_active_ip
    ON ip_allocations (cluster, subnet, ip) WHERE state = 'active';
CREATE UNIQUE INDEX ip_allocations_reserved_ip
    ON ip_allocations (cluster, subnet, ip) WHERE state = 'reserved';
CREATE UNIQUE INDEX ip_allocations_active_mac
    ON ip_allocations (cluster, mac) WHERE state = 'active' AND mac IS NOT NULL;
CREATE UNIQUE INDEX ip_allocations_reserved_mac
    ON ip_allocations (cluster, mac) WHERE state = 'reserved' AND mac IS NOT NULL;
