-- Names handed out to workflows before their guest exists, so that two plans
-- never get the same name. `reserved` rows count when choosing the next number.
CREATE TABLE name_reservations (
    id          INTEGER PRIMARY KEY,
    cluster     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    node        TEXT    NOT NULL,
    hostname    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('reserved', 'used', 'released')),
    reserved_at INTEGER NOT NULL,
    released_at INTEGER,
    reserved_by TEXT    NOT NULL,
    action_id   TEXT
);
CREATE UNIQUE INDEX name_reservations_live ON name_reservations (cluster, name) WHERE state = 'reserved';
CREATE INDEX name_reservations_action ON name_reservations (action_id);

CREATE INDEX ip_allocations_vmid ON ip_allocations (cluster, vmid);
CREATE INDEX ip_allocations_mac ON ip_allocations (cluster, mac);
CREATE INDEX ip_allocations_subnet_ip ON ip_allocations (cluster, subnet, ip);
CREATE INDEX ip_allocations_action ON ip_allocations (action_id);
