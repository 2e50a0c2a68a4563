-- VMIDs held for workflows alongside their names.
ALTER TABLE name_reservations ADD COLUMN vmid INTEGER;
CREATE UNIQUE INDEX name_reservations_vmid ON name_reservations (cluster, vmid) WHERE state = 'reserved' AND vmid IS NOT NULL;
CREATE INDEX actions_lease ON actions (state, lease_expires);
CREATE INDEX replication_tasks_action ON replication_tasks (action_id);
