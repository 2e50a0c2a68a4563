//! The operations part of `action-policies.yml`: backup retention (Proxmox's
//! prune options), where backups are synced to, LVM snapshot defaults, the
//! guarded upgrade's commands, schedules, and which scheduled actions run
//! without waiting for approval.

use std::collections::BTreeMap;

use super::reader::{Issues, Located, MapView};
use crate::action_kind::ActionKind;

/// Proxmox's prune options (`keep-last`, `keep-hourly`, ...); 0 means unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeepRules {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

impl KeepRules {
    pub fn is_empty(&self) -> bool {
        self.last + self.hourly + self.daily + self.weekly + self.monthly + self.yearly == 0
    }
}

/// Where synced copies of backups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTarget {
    /// Proxmox node that holds the secondary storage.
    pub node: String,
    /// A directory storage on that node (its `dump/` folder receives the copy).
    pub storage: String,
    /// `relay` (through proxdeck's own SSH connections) or `direct` (node to node scp).
    pub via: SyncVia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncVia {
    Relay,
    Direct,
}

/// LVM snapshot defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LvmPolicy {
    /// `VG/LV` snapshotted when none is named (Proxmox's root: `pve/root`).
    pub default_volume: String,
    /// Snapshot size: `20%` of the origin, or an LVM size like `8G`.
    pub snapshot_size: String,
    /// Usage above which a snapshot is flagged as nearly full.
    pub usage_warning_percent: f64,
    /// Name pattern: `{date}` and `{time}` are filled in.
    pub name_pattern: String,
}

/// The guarded host upgrade.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradePolicy {
    /// Run with `bash -c` (as root, non-interactive).
    pub command: String,
    /// Run after the upgrade; a non-zero exit fails the health check.
    pub check_command: Option<String>,
    pub timeout_secs: u64,
}

/// How often a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Daily,
    /// On a weekday, 0 = Monday .. 6 = Sunday.
    Weekly(u8),
}

/// Guests a schedule covers: by name glob or tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestMatch {
    pub names: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackupSchedule {
    pub name: String,
    pub guests: GuestMatch,
    pub every: Every,
    /// Local time `HH:MM`.
    pub at: (u8, u8),
    pub storage: String,
    pub mode: String,
    pub compress: String,
    pub verify: bool,
    pub sync: bool,
    pub prune: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSchedule {
    pub name: String,
    pub guests: GuestMatch,
    pub every: Every,
    pub at: (u8, u8),
    /// Scheduled snapshots of a guest kept (older ones go).
    pub keep: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationsConfig {
    /// Where backups go when a request names no storage (else the guest's
    /// node's first storage that takes backups).
    pub backup_storage: Option<String>,
    pub backup_retention: KeepRules,
    pub backup_sync: Option<SyncTarget>,
    pub lvm: LvmPolicy,
    pub upgrade: UpgradePolicy,
    pub backup_schedules: Vec<BackupSchedule>,
    pub snapshot_schedules: Vec<SnapshotSchedule>,
    /// Actions that run without approval when a schedule proposes them.
    pub scheduled_without_approval: Vec<ActionKind>,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        OperationsConfig {
            backup_storage: None,
            backup_retention: KeepRules {
                last: 3,
                daily: 7,
                weekly: 4,
                monthly: 6,
                ..KeepRules::default()
            },
            backup_sync: None,
            lvm: LvmPolicy {
                default_volume: "pve/root".into(),
                snapshot_size: "20%".into(),
                usage_warning_percent: 80.0,
                name_pattern: "pre-upgrade-{date}".into(),
            },
            upgrade: UpgradePolicy {
                command: "apt-get update && apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade".into(),
                check_command: None,
                timeout_secs: 3600,
            },
            backup_schedules: Vec::new(),
            snapshot_schedules: Vec::new(),
            scheduled_without_approval: Vec::new(),
        }
    }
}

pub const KEYS: &[&str] = &[
    "backup_storage",
    "backup_retention",
    "backup_sync",
    "lvm",
    "upgrade",
    "schedules",
    "scheduled_without_approval",
];

/// Read the operations keys of the policy file's top-level mapping.
pub fn read(map: &MapView<'_>, issues: &mut Issues) -> OperationsConfig {
    let mut c = OperationsConfig::default();
    if let Some(s) = map.opt_str(issues, "backup_storage") {
        c.backup_storage = Some(s.value);
    }
    if let Some(r) = map.opt_map(issues, "backup_retention") {
        let mut k = KeepRules::default();
        for (key, slot) in [
            ("keep_last", &mut k.last),
            ("keep_hourly", &mut k.hourly),
            ("keep_daily", &mut k.daily),
            ("keep_weekly", &mut k.weekly),
            ("keep_monthly", &mut k.monthly),
            ("keep_yearly", &mut k.yearly),
        ] {
            if let Some(v) = r.opt_u64(issues, key) {
                *slot = small(&v, issues, 10_000);
            }
        }
        r.finish(
            issues,
            &[
                "keep_last",
                "keep_hourly",
                "keep_daily",
                "keep_weekly",
                "keep_monthly",
                "keep_yearly",
            ],
        );
        c.backup_retention = k;
    }
    if let Some(s) = map.opt_map(issues, "backup_sync") {
        let node = s.req_str(issues, "node");
        let storage = s.req_str(issues, "storage");
        let via = match s.opt_str(issues, "via") {
            None => SyncVia::Relay,
            Some(v) if v.value == "relay" => SyncVia::Relay,
            Some(v) if v.value == "direct" => SyncVia::Direct,
            Some(v) => {
                issues.error(
                    v.pos,
                    &v.field,
                    format!("'{}' is not relay or direct", v.value),
                );
                SyncVia::Relay
            }
        };
        s.finish(issues, &["node", "storage", "via"]);
        if let (Some(node), Some(storage)) = (node, storage) {
            c.backup_sync = Some(SyncTarget {
                node: node.value,
                storage: storage.value,
                via,
            });
        }
    }
    if let Some(l) = map.opt_map(issues, "lvm") {
        if let Some(v) = l.opt_str(issues, "default_volume") {
            if v.value.split('/').count() != 2 || v.value.starts_with('/') {
                issues.error(v.pos, &v.field, "write it as VG/LV, e.g. pve/root");
            }
            c.lvm.default_volume = v.value;
        }
        if let Some(v) = l.opt_str(issues, "snapshot_size") {
            if crate::lvm::SnapshotSize::parse(&v.value).is_none() {
                issues.error(
                    v.pos,
                    &v.field,
                    "a percentage of the origin (20%) or an LVM size (8G, 512M)",
                );
            }
            c.lvm.snapshot_size = v.value;
        }
        if let Some(v) = l.opt_f64(issues, "usage_warning_percent") {
            if !(1.0..=100.0).contains(&v.value) {
                issues.error(v.pos, &v.field, "must be between 1 and 100");
            }
            c.lvm.usage_warning_percent = v.value;
        }
        if let Some(v) = l.opt_str(issues, "name_pattern") {
            c.lvm.name_pattern = v.value;
        }
        l.finish(
            issues,
            &[
                "default_volume",
                "snapshot_size",
                "usage_warning_percent",
                "name_pattern",
            ],
        );
    }
    if let Some(u) = map.opt_map(issues, "upgrade") {
        if let Some(v) = u.opt_str(issues, "command") {
            c.upgrade.command = v.value;
        }
        if let Some(v) = u.opt_str(issues, "check_command") {
            c.upgrade.check_command = Some(v.value).filter(|s| !s.is_empty());
        }
        if let Some(v) = u.opt_u64(issues, "timeout_secs") {
            c.upgrade.timeout_secs = v.value.max(1);
        }
        u.finish(issues, &["command", "check_command", "timeout_secs"]);
    }
    if let Some(s) = map.opt_map(issues, "schedules") {
        for (field, node) in s.opt_seq(issues, "backups").unwrap_or_default() {
            if let Some(b) = read_backup_schedule(node, &field, issues) {
                c.backup_schedules.push(b);
            }
        }
        for (field, node) in s.opt_seq(issues, "snapshots").unwrap_or_default() {
            if let Some(b) = read_snapshot_schedule(node, &field, issues) {
                c.snapshot_schedules.push(b);
            }
        }
        s.finish(issues, &["backups", "snapshots"]);
        let mut names: BTreeMap<&str, ()> = BTreeMap::new();
        for n in c
            .backup_schedules
            .iter()
            .map(|b| b.name.as_str())
            .chain(c.snapshot_schedules.iter().map(|b| b.name.as_str()))
        {
            if names.insert(n, ()).is_some() {
                issues.error(s.pos, &s.path, format!("two schedules are named '{n}'"));
            }
        }
    }
    if let Some(list) = map.opt_str_list(issues, "scheduled_without_approval") {
        for name in list {
            match ActionKind::from_name(&name.value) {
                Some(k) => c.scheduled_without_approval.push(k),
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
    }
    c
}

fn small(v: &Located<u64>, issues: &mut Issues, max: u64) -> u32 {
    if v.value > max {
        issues.error(v.pos, &v.field, format!("at most {max}"));
        return 0;
    }
    v.value as u32
}

fn read_match(view: &MapView<'_>, issues: &mut Issues) -> GuestMatch {
    GuestMatch {
        names: view
            .opt_str_list(issues, "guests")
            .unwrap_or_default()
            .into_iter()
            .map(|n| n.value)
            .collect(),
        tags: view
            .opt_str_list(issues, "tags")
            .unwrap_or_default()
            .into_iter()
            .map(|n| n.value)
            .collect(),
    }
}

fn read_when(view: &MapView<'_>, issues: &mut Issues) -> (Every, (u8, u8)) {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let day = match view.opt_str(issues, "day") {
        None => 6,
        Some(d) => match DAYS
            .iter()
            .position(|x| d.value.to_lowercase().starts_with(x))
        {
            Some(i) => i as u8,
            None => {
                issues.error(
                    d.pos,
                    &d.field,
                    format!("'{}' is not a weekday (mon .. sun)", d.value),
                );
                6
            }
        },
    };
    let every = match view.opt_str(issues, "every") {
        None => Every::Daily,
        Some(v) if v.value == "daily" => Every::Daily,
        Some(v) if v.value == "weekly" => Every::Weekly(day),
        Some(v) => {
            issues.error(
                v.pos,
                &v.field,
                format!("'{}' is not daily or weekly", v.value),
            );
            Every::Daily
        }
    };
    let at = match view.opt_str(issues, "at") {
        None => (2, 0),
        Some(v) => match v
            .value
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)))
        {
            Some((h, m)) if h < 24 && m < 60 => (h, m),
            _ => {
                issues.error(
                    v.pos,
                    &v.field,
                    format!("'{}' is not a time HH:MM", v.value),
                );
                (2, 0)
            }
        },
    };
    (every, at)
}

fn read_backup_schedule(
    node: &crate::config::yaml::Node,
    field: &str,
    issues: &mut Issues,
) -> Option<BackupSchedule> {
    let v = MapView::new(node, field, issues)?;
    let mark = issues.list.len();
    let name = v.req_str(issues, "name");
    let guests = read_match(&v, issues);
    let (every, at) = read_when(&v, issues);
    let storage = v.req_str(issues, "storage");
    let mode = v
        .opt_str(issues, "mode")
        .map(|m| m.value)
        .unwrap_or_else(|| "snapshot".into());
    if !["snapshot", "suspend", "stop"].contains(&mode.as_str()) {
        issues.error(
            v.pos,
            &v.field("mode"),
            format!("'{mode}' is not snapshot, suspend or stop"),
        );
    }
    let compress = v
        .opt_str(issues, "compress")
        .map(|m| m.value)
        .unwrap_or_else(|| "zstd".into());
    if !["zstd", "gzip", "lzo", "0"].contains(&compress.as_str()) {
        issues.error(
            v.pos,
            &v.field("compress"),
            format!("'{compress}' is not zstd, gzip, lzo or 0"),
        );
    }
    let flag =
        |k: &str, d: bool, issues: &mut Issues| v.opt_bool(issues, k).map(|b| b.value).unwrap_or(d);
    let verify = flag("verify", true, issues);
    let sync = flag("sync", false, issues);
    let prune = flag("prune", true, issues);
    v.finish(
        issues,
        &[
            "name", "guests", "tags", "every", "day", "at", "storage", "mode", "compress",
            "verify", "sync", "prune",
        ],
    );
    if guests.names.is_empty() && guests.tags.is_empty() {
        issues.error(
            v.pos,
            field,
            "a schedule needs `guests` (name globs) or `tags`",
        );
    }
    if issues.errors_since(mark) {
        return None;
    }
    Some(BackupSchedule {
        name: name?.value,
        guests,
        every,
        at,
        storage: storage?.value,
        mode,
        compress,
        verify,
        sync,
        prune,
    })
}

fn read_snapshot_schedule(
    node: &crate::config::yaml::Node,
    field: &str,
    issues: &mut Issues,
) -> Option<SnapshotSchedule> {
    let v = MapView::new(node, field, issues)?;
    let mark = issues.list.len();
    let name = v.req_str(issues, "name");
    let guests = read_match(&v, issues);
    let (every, at) = read_when(&v, issues);
    let keep = v
        .opt_u64(issues, "keep")
        .map(|k| small(&k, issues, 1000))
        .unwrap_or(7);
    v.finish(
        issues,
        &["name", "guests", "tags", "every", "day", "at", "keep"],
    );
    if guests.names.is_empty() && guests.tags.is_empty() {
        issues.error(
            v.pos,
            field,
            "a schedule needs `guests` (name globs) or `tags`",
        );
    }
    if issues.errors_since(mark) {
        return None;
    }
    Some(SnapshotSchedule {
        name: name?.value,
        guests,
        every,
        at,
        keep: keep.max(1),
    })
}
