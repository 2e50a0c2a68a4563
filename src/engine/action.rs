//! Actions: what someone wants done, typed and serialisable, with who
//! proposed it and why.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::action_kind::ActionKind;
use crate::pve::GuestKind;

pub use super::workflows::Workflow;
pub use super::workflows::assign_ip::AssignStaticIp;
pub use super::workflows::backup_create::CreateBackup;
pub use super::workflows::backup_prune::PruneBackups;
pub use super::workflows::backup_restore::RestoreBackup;
pub use super::workflows::backup_sync::SyncBackup;
pub use super::workflows::backup_verify::VerifyBackup;
pub use super::workflows::clone::CloneGuest;
pub use super::workflows::delete_guest::DeleteGuest;
pub use super::workflows::delete_snapshot::DeleteGuestSnapshot;
pub use super::workflows::lvm_cleanup::CleanupLvmSnapshots;
pub use super::workflows::lvm_merge::RestoreLvmSnapshot;
pub use super::workflows::lvm_snapshot::CreateLvmSnapshot;
pub use super::workflows::replicate::Replicate;
pub use super::workflows::rollback::RollbackGuestSnapshot;
pub use super::workflows::snapshot::CreateGuestSnapshot;
pub use super::workflows::upgrade::GuardedHostUpgrade;

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

/// Everything proxdeck can be asked to do. Each variant's payload lives in
/// its workflow's folder (`workflows/<name>/`) with its plan and its run; this
/// enum is the registry that lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    CreateGuestSnapshot(CreateGuestSnapshot),
    RollbackGuestSnapshot(RollbackGuestSnapshot),
    DeleteGuestSnapshot(DeleteGuestSnapshot),
    CloneGuest(CloneGuest),
    Replicate(Replicate),
    AssignStaticIp(AssignStaticIp),
    DeleteGuest(DeleteGuest),
    CreateLvmSnapshot(CreateLvmSnapshot),
    RestoreLvmSnapshot(RestoreLvmSnapshot),
    CleanupLvmSnapshots(CleanupLvmSnapshots),
    GuardedHostUpgrade(GuardedHostUpgrade),
    CreateBackup(CreateBackup),
    VerifyBackup(VerifyBackup),
    SyncBackup(SyncBackup),
    PruneBackups(PruneBackups),
    RestoreBackup(RestoreBackup),
}

impl Action {
    /// The workflow that plans and runs this action.
    pub fn workflow(&self) -> &dyn Workflow {
        match self {
            Action::CreateGuestSnapshot(a) => a,
            Action::RollbackGuestSnapshot(a) => a,
            Action::DeleteGuestSnapshot(a) => a,
            Action::CloneGuest(a) => a,
            Action::Replicate(a) => a,
            Action::AssignStaticIp(a) => a,
            Action::DeleteGuest(a) => a,
            Action::CreateLvmSnapshot(a) => a,
            Action::RestoreLvmSnapshot(a) => a,
            Action::CleanupLvmSnapshots(a) => a,
            Action::GuardedHostUpgrade(a) => a,
            Action::CreateBackup(a) => a,
            Action::VerifyBackup(a) => a,
            Action::SyncBackup(a) => a,
            Action::PruneBackups(a) => a,
            Action::RestoreBackup(a) => a,
        }
    }

    /// The policy name of this action.
    pub fn kind(&self) -> ActionKind {
        self.workflow().kind()
    }

    /// Every guest the action reads or changes (self-protection looks at these).
    pub fn guests(&self) -> Vec<&GuestSel> {
        self.workflow().guests()
    }

    /// The node the action mostly works on (for per-node limits).
    pub fn node(&self) -> &str {
        self.workflow().node()
    }

    /// A short id prefix (`repl-101`).
    pub fn id_prefix(&self) -> String {
        let w = self.workflow();
        format!("{}-{}", w.id_prefix(), w.id_subject())
    }

    /// One line for lists.
    pub fn describe(&self) -> String {
        self.workflow().describe()
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
