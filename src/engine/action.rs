//! Actions: what someone wants done, typed and serialisable, with who
//! proposed it and why.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::action_kind::ActionKind;
use crate::macaddr::MacAddr;
use crate::pve::GuestKind;

/// A guest an action works on, resolved from the inventory when proposed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuestSel {
    pub vmid: u32,
    pub name: String,
    pub node: String,
    pub kind: GuestKind,
    /// Tags at proposal time (self-protection matches them).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub template: bool,
}

impl GuestSel {
    /// The selection of a guest as the inventory shows it now.
    pub fn of(g: &crate::inventory::GuestInfo) -> GuestSel {
        GuestSel {
            vmid: g.vmid,
            name: g.name.clone(),
            node: g.node.clone(),
            kind: g.kind,
            tags: g.tags.clone(),
            template: g.template,
        }
    }
}

impl fmt::Display for GuestSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} {} on {})",
            self.name,
            self.kind.noun(),
            self.vmid,
            self.node
        )
    }
}

/// Which nodes a replication goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// Every other node of the convention.
    All,
    Nodes(Vec<String>),
}

/// Everything proxdeck can be asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    CreateGuestSnapshot {
        guest: GuestSel,
        /// None: from the safety snapshot name pattern.
        name: Option<String>,
        description: Option<String>,
        #[serde(default)]
        vmstate: bool,
    },
    RollbackGuestSnapshot {
        guest: GuestSel,
        snapshot: String,
        #[serde(default)]
        start: bool,
    },
    DeleteGuestSnapshot {
        guest: GuestSel,
        snapshot: String,
        /// Only retention auto-cleanup may delete snapshots.
        #[serde(default)]
        by_retention: bool,
    },
    CloneGuest {
        source: GuestSel,
        target_node: String,
        /// The new guest's role; None: the source's.
        role: Option<String>,
        #[serde(default)]
        start: bool,
    },
    Replicate {
        source: GuestSel,
        targets: Targets,
        #[serde(default)]
        start: bool,
    },
    AssignStaticIp {
        guest: GuestSel,
        /// None: the next free address of the guest's node and type.
        ip: Option<Ipv4Addr>,
        mac: Option<MacAddr>,
        hostname: Option<String>,
    },
    DeleteGuest {
        guest: GuestSel,
    },
    /// An LVM snapshot of a host volume (`pve/root` unless named).
    CreateLvmSnapshot {
        node: String,
        volume: Option<String>,
        name: Option<String>,
        /// `20%` of the origin or `8G`; None: the policy's size.
        size: Option<String>,
        description: Option<String>,
    },
    /// Merge an LVM snapshot back into its origin (deferred to the next
    /// activation while the origin is open).
    RestoreLvmSnapshot {
        node: String,
        volume: String,
        name: String,
    },
    /// Remove the LVM snapshots retention says have expired.
    CleanupLvmSnapshots {
        /// None: every node proxdeck reaches.
        node: Option<String>,
    },
    /// Upgrade a node's packages behind an LVM snapshot of its root.
    GuardedHostUpgrade {
        node: String,
        /// None: the policy's upgrade command.
        command: Option<String>,
    },
    CreateBackup {
        guest: GuestSel,
        storage: String,
        /// `snapshot`, `suspend` or `stop`.
        mode: String,
        /// `zstd`, `gzip`, `lzo` or `0`.
        compress: String,
        notes: Option<String>,
        /// Then verify, sync and prune, as the scheduled workflow does.
        #[serde(default)]
        verify: bool,
        #[serde(default)]
        sync: bool,
        #[serde(default)]
        prune: bool,
    },
    VerifyBackup {
        volid: String,
        /// A node that reaches the storage.
        node: String,
        guest: Option<GuestSel>,
    },
    SyncBackup {
        volid: String,
        node: String,
        to_node: String,
        to_storage: String,
        guest: Option<GuestSel>,
    },
    /// Remove a guest's backups on a storage that the retention rules do not keep.
    PruneBackups {
        vmid: u32,
        storage: String,
        node: String,
        guest: Option<GuestSel>,
    },
    /// Restore a backup as a new guest with a clean identity.
    RestoreBackup {
        volid: String,
        /// A node that reaches the backup's storage.
        node: String,
        target_node: String,
        /// None: named by the convention.
        new_name: Option<String>,
        /// None: the next free address of the target node.
        new_ip: Option<Ipv4Addr>,
        /// None: generated.
        new_mac: Option<MacAddr>,
        #[serde(default)]
        start: bool,
        /// Take an LVM snapshot of the target node's root first.
        #[serde(default)]
        snapshot_target: bool,
        /// The guest the backup is of, when it still exists.
        guest: Option<GuestSel>,
        /// The backup's guest type (`lxc`, `qemu`).
        kind: GuestKind,
    },
}

impl Action {
    /// The policy name of this action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::CreateGuestSnapshot { .. } => ActionKind::CreateSnapshot,
            Action::RollbackGuestSnapshot { .. } => ActionKind::RestoreSnapshot,
            Action::DeleteGuestSnapshot {
                by_retention: true, ..
            } => ActionKind::CleanupSnapshots,
            Action::DeleteGuestSnapshot { .. } => ActionKind::DeleteSnapshot,
            Action::CloneGuest { source, .. } => match source.kind {
                GuestKind::Qemu => ActionKind::CloneVm,
                GuestKind::Lxc => ActionKind::CloneLxc,
            },
            Action::Replicate { .. } => ActionKind::ReplicateResource,
            Action::AssignStaticIp { .. } => ActionKind::AssignStaticIp,
            Action::DeleteGuest { guest } if guest.template => ActionKind::DeleteTemplate,
            Action::DeleteGuest { .. } => ActionKind::DeleteGuest,
            Action::CreateLvmSnapshot { .. } => ActionKind::CreateLvmSnapshot,
            Action::RestoreLvmSnapshot { .. } => ActionKind::RestoreLvmSnapshot,
            Action::CleanupLvmSnapshots { .. } => ActionKind::CleanupSnapshots,
            Action::GuardedHostUpgrade { .. } => ActionKind::HostUpgrade,
            Action::CreateBackup { .. } => ActionKind::CreateBackup,
            Action::VerifyBackup { .. } => ActionKind::VerifyBackup,
            Action::SyncBackup { .. } => ActionKind::SyncBackup,
            Action::PruneBackups { .. } => ActionKind::PruneBackups,
            Action::RestoreBackup { .. } => ActionKind::RestoreBackup,
        }
    }

    /// Every guest the action reads or changes (self-protection looks at these).
    pub fn guests(&self) -> Vec<&GuestSel> {
        match self {
            Action::CreateGuestSnapshot { guest, .. }
            | Action::RollbackGuestSnapshot { guest, .. }
            | Action::DeleteGuestSnapshot { guest, .. }
            | Action::AssignStaticIp { guest, .. }
            | Action::DeleteGuest { guest } => vec![guest],
            Action::CloneGuest { source, .. } | Action::Replicate { source, .. } => vec![source],
            Action::CreateBackup { guest, .. } => vec![guest],
            Action::VerifyBackup { guest, .. }
            | Action::SyncBackup { guest, .. }
            | Action::PruneBackups { guest, .. }
            | Action::RestoreBackup { guest, .. } => guest.iter().collect(),
            Action::CreateLvmSnapshot { .. }
            | Action::RestoreLvmSnapshot { .. }
            | Action::CleanupLvmSnapshots { .. }
            | Action::GuardedHostUpgrade { .. } => Vec::new(),
        }
    }

    /// The node the action mostly works on (for per-node limits).
    pub fn node(&self) -> &str {
        match self {
            Action::CreateLvmSnapshot { node, .. }
            | Action::RestoreLvmSnapshot { node, .. }
            | Action::GuardedHostUpgrade { node, .. }
            | Action::VerifyBackup { node, .. }
            | Action::SyncBackup { node, .. }
            | Action::PruneBackups { node, .. } => node,
            Action::RestoreBackup { target_node, .. } => target_node,
            Action::CleanupLvmSnapshots { node } => node.as_deref().unwrap_or("all"),
            other => other
                .guests()
                .first()
                .map(|g| g.node.as_str())
                .unwrap_or("all"),
        }
    }

    /// A short id prefix (`repl-101-...`).
    pub fn id_prefix(&self) -> String {
        let short = |n: &str| n.rsplit('-').next().unwrap_or(n).to_string();
        let subject = match self.guests().first() {
            Some(g) => g.vmid.to_string(),
            None => match self {
                Action::PruneBackups { vmid, .. } => vmid.to_string(),
                Action::RestoreBackup { volid, .. }
                | Action::VerifyBackup { volid, .. }
                | Action::SyncBackup { volid, .. } => crate::backup::archive::parse(volid)
                    .map(|a| a.vmid.to_string())
                    .unwrap_or_else(|| "x".into()),
                other => short(other.node()),
            },
        };
        let p = match self {
            Action::CreateGuestSnapshot { .. } => "snap",
            Action::RollbackGuestSnapshot { .. } => "rollback",
            Action::DeleteGuestSnapshot { .. } => "delsnap",
            Action::CloneGuest { .. } => "clone",
            Action::Replicate { .. } => "repl",
            Action::AssignStaticIp { .. } => "ip",
            Action::DeleteGuest { .. } => "delete",
            Action::CreateLvmSnapshot { .. } => "lvsnap",
            Action::RestoreLvmSnapshot { .. } => "lvmerge",
            Action::CleanupLvmSnapshots { .. } => "lvclean",
            Action::GuardedHostUpgrade { .. } => "upgrade",
            Action::CreateBackup { .. } => "backup",
            Action::VerifyBackup { .. } => "verify",
            Action::SyncBackup { .. } => "sync",
            Action::PruneBackups { .. } => "prune",
            Action::RestoreBackup { .. } => "restore",
        };
        format!("{p}-{subject}")
    }

    /// One line for lists.
    pub fn describe(&self) -> String {
        match self {
            Action::CreateGuestSnapshot { guest, name, .. } => format!(
                "snapshot {}{}",
                guest.name,
                name.as_ref()
                    .map(|n| format!(" as {n}"))
                    .unwrap_or_default()
            ),
            Action::RollbackGuestSnapshot {
                guest, snapshot, ..
            } => {
                format!("roll {} back to {snapshot}", guest.name)
            }
            Action::DeleteGuestSnapshot {
                guest, snapshot, ..
            } => {
                format!("delete snapshot {snapshot} of {}", guest.name)
            }
            Action::CloneGuest {
                source,
                target_node,
                ..
            } => {
                format!("clone {} to {target_node}", source.name)
            }
            Action::Replicate {
                source, targets, ..
            } => match targets {
                Targets::All => format!("replicate {} to all nodes", source.name),
                Targets::Nodes(n) => format!("replicate {} to {}", source.name, n.join(", ")),
            },
            Action::AssignStaticIp { guest, ip, .. } => format!(
                "assign {} to {}",
                ip.map(|i| i.to_string())
                    .unwrap_or_else(|| "the next free address".into()),
                guest.name
            ),
            Action::DeleteGuest { guest } => format!("delete {}", guest.name),
            Action::CreateLvmSnapshot {
                node, volume, name, ..
            } => format!(
                "LVM snapshot of {} on {node}{}",
                volume.as_deref().unwrap_or("the root volume"),
                name.as_ref()
                    .map(|n| format!(" as {n}"))
                    .unwrap_or_default()
            ),
            Action::RestoreLvmSnapshot { node, volume, name } => {
                format!("merge LVM snapshot {name} into {volume} on {node}")
            }
            Action::CleanupLvmSnapshots { node } => format!(
                "remove expired LVM snapshots{}",
                node.as_ref()
                    .map(|n| format!(" on {n}"))
                    .unwrap_or_default()
            ),
            Action::GuardedHostUpgrade { node, .. } => {
                format!("upgrade {node} behind an LVM snapshot")
            }
            Action::CreateBackup {
                guest,
                storage,
                mode,
                ..
            } => {
                format!("back up {} to {storage} ({mode})", guest.name)
            }
            Action::VerifyBackup { volid, .. } => format!("verify {}", short_volid(volid)),
            Action::SyncBackup {
                volid,
                to_node,
                to_storage,
                ..
            } => {
                format!("copy {} to {to_storage} on {to_node}", short_volid(volid))
            }
            Action::PruneBackups {
                vmid,
                storage,
                guest,
                ..
            } => format!(
                "prune backups of {} on {storage}",
                guest
                    .as_ref()
                    .map(|g| g.name.clone())
                    .unwrap_or_else(|| vmid.to_string())
            ),
            Action::RestoreBackup {
                volid,
                target_node,
                new_name,
                ..
            } => format!(
                "restore {} to {target_node}{}",
                short_volid(volid),
                new_name
                    .as_ref()
                    .map(|n| format!(" as {n}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// A volid's file name (`vzdump-lxc-105-....tar.zst`).
pub fn short_volid(volid: &str) -> &str {
    volid.rsplit(['/', ':']).next().unwrap_or(volid)
}

/// Where a proposal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Cli,
    Tui,
    Api,
    Assistant,
    Policy,
}

/// Who proposed (or approved) something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// OS user, or `policy:<rule>` / `assistant`.
    pub who: String,
    /// SSH client address when over SSH.
    pub from: Option<String>,
    pub via: Via,
}

impl Actor {
    /// The person at this terminal.
    pub fn local(via: Via) -> Actor {
        Actor {
            who: crate::actor::os_user(),
            from: crate::actor::ssh_client(),
            via,
        }
    }

    /// A policy acting on its own (auto-replication, retention).
    pub fn policy(rule: &str) -> Actor {
        Actor {
            who: format!("policy:{rule}"),
            from: None,
            via: Via::Policy,
        }
    }

    pub fn label(&self) -> String {
        match &self.from {
            Some(f) => format!("{}@{f}", self.who),
            None => self.who.clone(),
        }
    }
}
