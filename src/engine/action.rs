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
        }
    }

    /// The node the action mostly works on (for per-node limits).
    pub fn node(&self) -> &str {
        &self.guests()[0].node
    }

    /// A short id prefix (`repl-101-...`).
    pub fn id_prefix(&self) -> String {
        let g = self.guests()[0];
        let p = match self {
            Action::CreateGuestSnapshot { .. } => "snap",
            Action::RollbackGuestSnapshot { .. } => "rollback",
            Action::DeleteGuestSnapshot { .. } => "delsnap",
            Action::CloneGuest { .. } => "clone",
            Action::Replicate { .. } => "repl",
            Action::AssignStaticIp { .. } => "ip",
            Action::DeleteGuest { .. } => "delete",
        };
        format!("{p}-{}", g.vmid)
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
        }
    }
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
