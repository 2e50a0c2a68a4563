-- proxdeck schema, version 1.
-- Times are Unix seconds (UTC). JSON columns hold serde_json text.

-- What proxdeck knows about each guest beyond what Proxmox stores.
CREATE TABLE resource_metadata (
    cluster            TEXT    NOT NULL,
    vmid               INTEGER NOT NULL,
    name               TEXT,
    guest_type         TEXT    NOT NULL CHECK (guest_type IN ('qemu', 'lxc')),
    node               TEXT    NOT NULL,
    origin_node        TEXT,
    origin_template_id INTEGER,
    is_template        INTEGER NOT NULL DEFAULT 0,
    is_replica         INTEGER NOT NULL DEFAULT 0,
    replicated_nodes   TEXT    NOT NULL DEFAULT '[]',
    ip                 TEXT,
    mac                TEXT,
    hostname           TEXT,
    naming_compliant   INTEGER,
    naming_issue       TEXT,
    first_seen         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    gone_at            INTEGER,
    PRIMARY KEY (cluster, vmid)
);

-- Every address handed out, seen, or given back. Only reserved and active
-- records hold an address; observed ones are what live guests carry.
CREATE TABLE ip_allocations (
    id            INTEGER PRIMARY KEY,
    cluster       TEXT    NOT NULL,
    node          TEXT    NOT NULL,
    subnet        TEXT    NOT NULL,
    ip            TEXT    NOT NULL,
    guest_type    TEXT    NOT NULL CHECK (guest_type IN ('qemu', 'lxc')),
    vmid          INTEGER,
    resource_name TEXT,
    mac           TEXT,
    hostname      TEXT,
    state         TEXT    NOT NULL CHECK (state IN ('reserved', 'active', 'observed', 'released')),
    allocated_at  INTEGER NOT NULL,
    released_at   INTEGER,
    allocated_by  TEXT    NOT NULL,
    action_id     TEXT
);
CREATE UNIQUE INDEX ip_allocations_live_ip
    ON ip_allocations (cluster, subnet, ip) WHERE state IN ('reserved', 'active');
CREATE UNIQUE INDEX ip_allocations_live_mac
    ON ip_allocations (cluster, mac) WHERE state IN ('reserved', 'active') AND mac IS NOT NULL;
CREATE INDEX ip_allocations_node ON ip_allocations (cluster, node, state);

-- Guest (Proxmox) and host (LVM) snapshots.
CREATE TABLE snapshots (
    id                  INTEGER PRIMARY KEY,
    cluster             TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('guest', 'lvm')),
    node                TEXT    NOT NULL,
    vmid                INTEGER,
    volume              TEXT,
    name                TEXT    NOT NULL,
    parent              TEXT,
    description         TEXT,
    created_at          INTEGER,
    created_by_proxdeck INTEGER NOT NULL DEFAULT 0,
    purpose             TEXT,
    protects_action     TEXT,
    size_bytes          INTEGER,
    usage_percent       REAL,
    state               TEXT    NOT NULL DEFAULT 'present',
    expires_at          INTEGER,
    last_seen           INTEGER,
    removed_at          INTEGER
);
CREATE UNIQUE INDEX snapshots_identity
    ON snapshots (cluster, kind, node, IFNULL(vmid, -1), IFNULL(volume, ''), name);

-- Backup archives across nodes and storages.
CREATE TABLE backups (
    id              INTEGER PRIMARY KEY,
    cluster         TEXT    NOT NULL,
    node            TEXT    NOT NULL,
    storage         TEXT    NOT NULL,
    volid           TEXT    NOT NULL,
    vmid            INTEGER,
    guest_type      TEXT,
    format          TEXT,
    size_bytes      INTEGER,
    ctime           INTEGER,
    notes           TEXT,
    protected       INTEGER NOT NULL DEFAULT 0,
    mode            TEXT,
    verify_state    TEXT    NOT NULL DEFAULT 'unverified'
                            CHECK (verify_state IN ('unverified', 'ok', 'failed')),
    verify_message  TEXT,
    verified_at     INTEGER,
    sha256          TEXT,
    synced_from     INTEGER REFERENCES backups (id),
    retention_class TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    removed_at      INTEGER,
    UNIQUE (cluster, node, storage, volid)
);

-- The action queue: one row per proposed action, with its plan and state.
CREATE TABLE actions (
    id               TEXT    PRIMARY KEY,
    cluster          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    action_json      TEXT    NOT NULL,
    plan_json        TEXT,
    plan_hash        TEXT,
    state            TEXT    NOT NULL CHECK (state IN ('proposed', 'pending_approval', 'approved', 'running',
                                                       'succeeded', 'failed', 'rolled_back', 'rejected', 'cancelled')),
    proposed_by      TEXT    NOT NULL,
    proposed_from    TEXT,
    reason           TEXT,
    policy_rule      TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires    INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result_json      TEXT,
    error            TEXT
);
CREATE INDEX actions_state ON actions (state, created_at);

-- Every state change of an action, in order.
CREATE TABLE action_transitions (
    id         INTEGER PRIMARY KEY,
    action_id  TEXT    NOT NULL REFERENCES actions (id),
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    note       TEXT
);
CREATE INDEX action_transitions_action ON action_transitions (action_id, id);

-- The journal: each step of a running action, written before and after it runs.
CREATE TABLE action_steps (
    id          INTEGER PRIMARY KEY,
    action_id   TEXT    NOT NULL REFERENCES actions (id),
    seq         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    target      TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped', 'undone')),
    upid        TEXT,
    detail_json TEXT,
    started_at  INTEGER,
    finished_at INTEGER,
    error       TEXT,
    UNIQUE (action_id, seq)
);

-- Output lines of steps (Proxmox task logs, host command output).
CREATE TABLE action_log (
    id        INTEGER PRIMARY KEY,
    action_id TEXT    NOT NULL REFERENCES actions (id),
    step_seq  INTEGER,
    at        INTEGER NOT NULL,
    line      TEXT    NOT NULL
);
CREATE INDEX action_log_action ON action_log (action_id, id);

-- Per-target progress of replication actions.
CREATE TABLE replication_tasks (
    id          INTEGER PRIMARY KEY,
    action_id   TEXT    NOT NULL REFERENCES actions (id),
    cluster     TEXT    NOT NULL,
    source_vmid INTEGER NOT NULL,
    source_node TEXT    NOT NULL,
    target_node TEXT    NOT NULL,
    strategy    TEXT,
    new_vmid    INTEGER,
    new_name    TEXT,
    ip          TEXT,
    mac         TEXT,
    hostname    TEXT,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cleaned_up')),
    progress    REAL    NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (action_id, target_node)
);

-- Approval decisions, tied to the exact plan that was shown.
CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    action_id    TEXT    NOT NULL REFERENCES actions (id),
    decision     TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by   TEXT    NOT NULL,
    decided_from TEXT,
    decided_at   INTEGER NOT NULL,
    plan_hash    TEXT    NOT NULL,
    reason       TEXT
);

-- Append-only, hash-chained record of everything that happened.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    event     TEXT    NOT NULL,
    action_id TEXT,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
