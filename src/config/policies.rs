//! `action-policies.yml`: what needs approval, what is prohibited, what protects
//! itself, when safety snapshots are taken, retention and replication rules.

use super::reader::{Issues, Located, MapView};
use super::yaml::Node;
use crate::action_kind::ActionKind;

/// Everything `action-policies.yml` says.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub approval_required: Vec<ActionKind>,
    pub prohibited: Prohibited,
    pub self_protection: Vec<ProtectionRule>,
    pub safety_snapshots: SafetySnapshots,
    pub snapshot_retention: SnapshotRetention,
    pub replication: ReplicationPolicy,
    /// Reject every mutation.
    pub read_only: bool,
    /// Four-eyes rule: the proposer may not approve their own action.
    pub require_distinct_approver: bool,
    /// Backups, LVM, upgrades and schedules.
    pub ops: super::operations::OperationsConfig,
}

/// Actions that never run, whoever asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prohibited {
    /// Deleting a template on the primary template node.
    pub delete_primary_templates: bool,
    /// Deleting a snapshot other than by retention auto-cleanup.
    pub manual_snapshot_deletion: bool,
    /// Further action kinds prohibited outright.
    pub actions: Vec<ActionKind>,
}

/// Guests proxdeck must not touch (its own automation, the monitoring database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionRule {
    pub name: String,
    /// Glob patterns (`*` and `?`) matched against guest names.
    pub names: Vec<String>,
    /// Guest tags; any one matching protects the guest.
    pub tags: Vec<String>,
}

/// Operations before which a guest snapshot is taken automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SafetyTrigger {
    Rebuild,
    ConfigChange,
    NetworkChange,
    Upgrade,
    Rollback,
    Restore,
}

impl SafetyTrigger {
    pub const ALL: &'static [SafetyTrigger] = &[
        SafetyTrigger::Rebuild,
        SafetyTrigger::ConfigChange,
        SafetyTrigger::NetworkChange,
        SafetyTrigger::Upgrade,
        SafetyTrigger::Rollback,
        SafetyTrigger::Restore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SafetyTrigger::Rebuild => "rebuild",
            SafetyTrigger::ConfigChange => "config_change",
            SafetyTrigger::NetworkChange => "network_change",
            SafetyTrigger::Upgrade => "upgrade",
            SafetyTrigger::Rollback => "rollback",
            SafetyTrigger::Restore => "restore",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetySnapshots {
    pub before: Vec<SafetyTrigger>,
    /// Roll back to the safety snapshot when the operation fails.
    pub rollback_on_failure: bool,
    /// Snapshot names: `{date}` and `{time}` are filled in (`auto-20260129-1403`).
    pub name_pattern: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotRetention {
    pub max_age_days: u32,
    pub max_snapshots_per_volume: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationPolicy {
    /// Proxmox name of the primary template node (`pve-node-01`).
    pub primary_node: String,
    pub auto_replicate_from_primary: bool,
    pub cross_node_replication: bool,
    /// The tag that marks a guest on another node for cluster-wide replication.
    pub replicate_tag: String,
}

/// What needs approval when the file does not say: the design's list, the
/// host-level and destructive actions, and deletions.
pub const SAFE_APPROVAL: &[ActionKind] = &[
    ActionKind::RestoreSnapshot,
    ActionKind::CreateBackup,
    ActionKind::RestoreBackup,
    ActionKind::CloneVm,
    ActionKind::CloneLxc,
    ActionKind::ReplicateResource,
    ActionKind::AssignStaticIp,
    ActionKind::RestoreLvmSnapshot,
    ActionKind::HostUpgrade,
    ActionKind::PruneBackups,
    ActionKind::DeleteGuest,
    ActionKind::DeleteTemplate,
];

/// The design's self-protection: proxdeck never touches its own automation
/// (n8n) or the monitoring that watches the cluster.
pub fn safe_protection() -> Vec<ProtectionRule> {
    vec![
        ProtectionRule {
            name: "n8n-containers".into(),
            names: vec!["*n8n*".into()],
            tags: vec!["n8n".into()],
        },
        ProtectionRule {
            name: "monitoring-infrastructure".into(),
            names: vec![
                "*monitoring*".into(),
                "prometheus*".into(),
                "grafana*".into(),
            ],
            tags: vec!["monitoring".into()],
        },
    ]
}

/// The safe policy: what a missing, empty or incomplete file means. Leaving
/// a key out never opens anything; an explicit `[]` in the file does, and
/// says so there.
impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            approval_required: SAFE_APPROVAL.to_vec(),
            prohibited: Prohibited {
                delete_primary_templates: true,
                manual_snapshot_deletion: true,
                actions: Vec::new(),
            },
            self_protection: safe_protection(),
            safety_snapshots: SafetySnapshots {
                before: SafetyTrigger::ALL.to_vec(),
                rollback_on_failure: true,
                name_pattern: "auto-{date}-{time}".into(),
            },
            snapshot_retention: SnapshotRetention {
                max_age_days: 30,
                max_snapshots_per_volume: 10,
            },
            replication: ReplicationPolicy {
                primary_node: "pve-node-01".into(),
                auto_replicate_from_primary: true,
                cross_node_replication: true,
                replicate_tag: "replicate".into(),
            },
            read_only: false,
            require_distinct_approver: false,
            ops: Default::default(),
        }
    }
}

const KNOWN_KEYS: &[&str] = &[
    "approval_required",
    "prohibited",
    "self_protection",
    "safety_snapshots",
    "snapshot_retention",
    "replication",
    "read_only",
    "require_distinct_approver",
];

/// Read and validate the file's tree. Returns `None` when errors were recorded.
pub fn read(doc: &Node, issues: &mut Issues) -> Option<PolicyConfig> {
    let map = MapView::new(doc, "", issues)?;
    let mut cfg = PolicyConfig::default();
    let mark = issues.list.len();
    if let Some(list) = map.opt_str_list(issues, "approval_required") {
        cfg.approval_required = action_list(list, issues);
    } else if !map.has("approval_required") {
        issues.warning(
            map.pos,
            "approval_required",
            format!(
                "not set: the safe default applies (approval for {}); write `approval_required: []` to run everything without approval",
                SAFE_APPROVAL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    if let Some(p) = map.opt_map(issues, "prohibited") {
        if let Some(b) = p.opt_bool(issues, "delete_primary_templates") {
            cfg.prohibited.delete_primary_templates = b.value;
        }
        if let Some(b) = p.opt_bool(issues, "manual_snapshot_deletion") {
            cfg.prohibited.manual_snapshot_deletion = b.value;
        }
        if let Some(list) = p.opt_str_list(issues, "actions") {
            cfg.prohibited.actions = action_list(list, issues);
        }
        p.finish(
            issues,
            &[
                "delete_primary_templates",
                "manual_snapshot_deletion",
                "actions",
            ],
        );
    }
    if let Some(rules) = map.opt_seq(issues, "self_protection") {
        cfg.self_protection = rules
            .into_iter()
            .filter_map(|(field, node)| read_protection(node, &field, issues))
            .collect();
    } else if !map.has("self_protection") {
        issues.warning(
            map.pos,
            "self_protection",
            "not set: the design's rules apply (n8n and monitoring guests are never touched); write `self_protection: []` to protect nothing",
        );
    }
    if let Some(s) = map.opt_map(issues, "safety_snapshots") {
        if let Some(list) = s.opt_str_list(issues, "before") {
            cfg.safety_snapshots.before = list
                .into_iter()
                .filter_map(|t| trigger(&t, issues))
                .collect();
        }
        if let Some(b) = s.opt_bool(issues, "rollback_on_failure") {
            cfg.safety_snapshots.rollback_on_failure = b.value;
        }
        if let Some(n) = s.opt_str(issues, "name_pattern") {
            if n.value.is_empty() || n.value.len() > 30 {
                issues.error(
                    n.pos,
                    &n.field,
                    "a snapshot name pattern must be 1-30 characters",
                );
            }
            cfg.safety_snapshots.name_pattern = n.value;
        }
        s.finish(issues, &["before", "rollback_on_failure", "name_pattern"]);
    }
    if let Some(r) = map.opt_map(issues, "snapshot_retention") {
        if let Some(v) = r.opt_u64(issues, "max_age_days") {
            cfg.snapshot_retention.max_age_days = positive_u32(&v, issues);
        }
        if let Some(v) = r.opt_u64(issues, "max_snapshots_per_volume") {
            cfg.snapshot_retention.max_snapshots_per_volume = positive_u32(&v, issues);
        }
        r.finish(issues, &["max_age_days", "max_snapshots_per_volume"]);
    }
    if let Some(r) = map.opt_map(issues, "replication") {
        if let Some(v) = r.opt_str(issues, "primary_node") {
            cfg.replication.primary_node = v.value;
        }
        if let Some(v) = r.opt_bool(issues, "auto_replicate_from_primary") {
            cfg.replication.auto_replicate_from_primary = v.value;
        }
        if let Some(v) = r.opt_bool(issues, "cross_node_replication") {
            cfg.replication.cross_node_replication = v.value;
        }
        if let Some(v) = r.opt_str(issues, "replicate_tag") {
            cfg.replication.replicate_tag = v.value;
        }
        r.finish(
            issues,
            &[
                "primary_node",
                "auto_replicate_from_primary",
                "cross_node_replication",
                "replicate_tag",
            ],
        );
    }
    if let Some(b) = map.opt_bool(issues, "read_only") {
        cfg.read_only = b.value;
    }
    if let Some(b) = map.opt_bool(issues, "require_distinct_approver") {
        cfg.require_distinct_approver = b.value;
    }
    cfg.ops = super::operations::read(&map, issues);
    let known: Vec<&str> = KNOWN_KEYS
        .iter()
        .chain(super::operations::KEYS)
        .copied()
        .collect();
    map.finish(issues, &known);
    (!issues.errors_since(mark)).then_some(cfg)
}

/// Where `replication.primary_node` was written, for cross-file checks.
pub fn primary_node_location(doc: &Node, issues: &mut Issues) -> Option<Located<String>> {
    let map = MapView::new(doc, "", issues)?;
    let r = map.opt_map(issues, "replication")?;
    r.opt_str(issues, "primary_node")
}

fn action_list(list: Vec<Located<String>>, issues: &mut Issues) -> Vec<ActionKind> {
    let mut out = Vec::new();
    for name in list {
        match ActionKind::from_name(&name.value) {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => issues.warning(
                name.pos,
                &name.field,
                format!("'{}' is listed twice", name.value),
            ),
            None => issues.error(
                name.pos,
                &name.field,
                format!(
                    "unknown action '{}' (known: {})",
                    name.value,
                    ActionKind::known_names()
                ),
            ),
        }
    }
    out
}

fn trigger(name: &Located<String>, issues: &mut Issues) -> Option<SafetyTrigger> {
    let t = SafetyTrigger::ALL
        .iter()
        .copied()
        .find(|t| t.name() == name.value);
    if t.is_none() {
        issues.error(
            name.pos,
            &name.field,
            format!(
                "unknown safety trigger '{}' (known: {})",
                name.value,
                SafetyTrigger::ALL
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    t
}

fn positive_u32(v: &Located<u64>, issues: &mut Issues) -> u32 {
    match u32::try_from(v.value) {
        Ok(n) if n > 0 => n,
        _ => {
            issues.error(
                v.pos,
                &v.field,
                "must be a whole number from 1 to 4294967295",
            );
            1
        }
    }
}

fn read_protection(node: &Node, field: &str, issues: &mut Issues) -> Option<ProtectionRule> {
    let view = MapView::new(node, field, issues)?;
    let name = view.req_str(issues, "name");
    let names = view.opt_str_list(issues, "names").unwrap_or_default();
    let tags = view.opt_str_list(issues, "tags").unwrap_or_default();
    view.finish(issues, &["name", "names", "tags"]);
    if names.is_empty() && tags.is_empty() {
        issues.error(
            view.pos,
            field,
            "a self-protection rule needs at least one of `names` or `tags`",
        );
        return None;
    }
    Some(ProtectionRule {
        name: name?.value,
        names: names.into_iter().map(|n| n.value).collect(),
        tags: tags.into_iter().map(|t| t.value).collect(),
    })
}
