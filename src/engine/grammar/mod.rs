//! One grammar for actions: the words `replicate pve-db-01 --to all`,
//! `snapshot pve-av-01 --name pre-fix` or `restore --latest-of pve-web-01
//! --to node-02` mean the same typed [`Action`] in the CLI (`proxdeck plan
//! ...`), the console's `:` line, the REST API and the assistant's output.
//! Parsing is clap's (so every front end reports the same errors), resolving
//! names against the cluster is [`resolve`], and the console completes words
//! from the same definitions ([`complete`]).

pub mod complete;
pub mod resolve;
pub mod words;

use std::net::Ipv4Addr;

use clap::{Args, Parser, Subcommand};

pub use resolve::Resolver;

use super::action::Action;
use super::error::EngineError;

/// The words after `plan` (CLI) or `:` (console).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ActionText {
    /// Replicate a template or guest to other nodes (all of them unless --to)
    Replicate(ReplicateArgs),
    /// Clone a guest to a node as a new guest named by the convention
    Clone(CloneArgs),
    /// Take a guest snapshot
    Snapshot(SnapshotArgs),
    /// Roll a guest back to a snapshot (a safety snapshot is taken first when policy says so)
    Rollback(RollbackArgs),
    /// Give a guest a static address (the next free one unless --ip)
    AssignIp(AssignIpArgs),
    /// Delete a guest snapshot by hand (prohibited by the shipped policy)
    DeleteSnapshot(DeleteSnapshotArgs),
    /// Delete a guest and its disks
    Delete(DeleteArgs),
    /// Back a guest up with vzdump (then --verify, --sync, --prune)
    Backup(BackupArgs),
    /// Check an archive's integrity on its node (compression, full read, SHA-256)
    Verify(VerifyArgs),
    /// Copy an archive to the secondary storage and compare SHA-256
    Sync(SyncArgs),
    /// Remove a guest's backups that retention does not keep
    Prune(PruneArgs),
    /// Restore a backup as a new guest (name, address and MAC by the convention unless given)
    Restore(RestoreArgs),
    /// Take an LVM snapshot of a host volume (pve/root unless --volume)
    LvmSnapshot(LvmSnapshotArgs),
    /// Merge an LVM snapshot back into its origin (at the next reboot while the origin is in use)
    LvmMerge(LvmMergeArgs),
    /// Remove the LVM snapshots retention says have expired (only those proxdeck made)
    LvmCleanup(LvmCleanupArgs),
    /// Upgrade a node's packages behind an LVM snapshot of its root
    Upgrade(UpgradeArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ReplicateArgs {
    /// The template or guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// `all`, or nodes separated by commas (node-02 or pve-node-02)
    #[arg(long, value_name = "NODES", default_value = "all")]
    pub to: String,
    /// Start the replicas (not for templates)
    #[arg(long)]
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CloneArgs {
    /// The guest to clone, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The node the clone goes to
    #[arg(long, value_name = "NODE")]
    pub to: String,
    /// The new guest's role (default: the source's)
    #[arg(long)]
    pub role: Option<String>,
    /// Start the clone
    #[arg(long)]
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SnapshotArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The snapshot's name (default: from the policy's pattern)
    #[arg(long)]
    pub name: Option<String>,
    /// A description kept with the snapshot
    #[arg(long)]
    pub description: Option<String>,
    /// Include the VM's RAM
    #[arg(long)]
    pub vmstate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RollbackArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The snapshot to go back to
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: String,
    /// Start the guest afterwards
    #[arg(long)]
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AssignIpArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The address (default: the next free one of the guest's node and type)
    #[arg(long)]
    pub ip: Option<Ipv4Addr>,
    /// The MAC (default: the guest's own, else one by the scheme)
    #[arg(long)]
    pub mac: Option<crate::macaddr::MacAddr>,
    /// The hostname (default: the guest's)
    #[arg(long)]
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteSnapshotArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The snapshot to delete
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct BackupArgs {
    /// The guest, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// Backup storage (default: the policy's backup_storage, else the node's first backup storage)
    #[arg(long, value_name = "STORAGE")]
    pub storage: Option<String>,
    /// snapshot, suspend or stop
    #[arg(long, default_value = "snapshot", value_parser = ["snapshot", "suspend", "stop"])]
    pub mode: String,
    /// zstd, gzip, lzo or 0
    #[arg(long, default_value = "zstd", value_parser = ["zstd", "gzip", "lzo", "0"])]
    pub compress: String,
    /// Notes kept with the backup
    #[arg(long)]
    pub notes: Option<String>,
    /// Then verify the archive
    #[arg(long)]
    pub verify: bool,
    /// Then copy it to the secondary storage
    #[arg(long)]
    pub sync: bool,
    /// Then prune the guest's backups by retention
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct VerifyArgs {
    /// A volid or an archive's file name
    #[arg(value_name = "ARCHIVE")]
    pub archive: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SyncArgs {
    /// A volid or an archive's file name
    #[arg(value_name = "ARCHIVE")]
    pub archive: String,
    /// Node of the secondary storage (default: the policy's backup_sync)
    #[arg(long, value_name = "NODE")]
    pub to_node: Option<String>,
    /// The secondary storage (default: the policy's backup_sync)
    #[arg(long, value_name = "STORAGE")]
    pub to_storage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PruneArgs {
    /// The guest whose backups to prune, by name or VMID
    #[arg(value_name = "GUEST")]
    pub guest: String,
    /// The storage (default: every backup storage the guest's node reaches, the first with backups of it)
    #[arg(long, value_name = "STORAGE")]
    pub storage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RestoreArgs {
    /// A volid or an archive's file name (or --latest-of GUEST)
    #[arg(
        value_name = "ARCHIVE",
        required_unless_present = "latest_of",
        conflicts_with = "latest_of"
    )]
    pub archive: Option<String>,
    /// The newest backup of this guest (name or VMID)
    #[arg(long, value_name = "GUEST")]
    pub latest_of: Option<String>,
    /// The node to restore onto
    #[arg(long, value_name = "NODE")]
    pub to: String,
    /// The new guest's name (default: by the convention)
    #[arg(long)]
    pub name: Option<String>,
    /// The new guest's address (default: the next free one)
    #[arg(long)]
    pub ip: Option<Ipv4Addr>,
    /// A MAC, or auto-generate (default)
    #[arg(long)]
    pub mac: Option<String>,
    /// Start the new guest
    #[arg(long)]
    pub start: bool,
    /// Take an LVM snapshot of the target node's root first
    #[arg(long)]
    pub snapshot_target: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LvmSnapshotArgs {
    /// The node
    #[arg(value_name = "NODE")]
    pub node: String,
    /// The volume, VG/LV (default: the policy's, pve/root)
    #[arg(long)]
    pub volume: Option<String>,
    /// The snapshot's name (default: from the policy's pattern)
    #[arg(long)]
    pub name: Option<String>,
    /// Copy-on-write space: 20% of the origin, or 8G
    #[arg(long)]
    pub size: Option<String>,
    /// A description kept in the catalog
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LvmMergeArgs {
    /// The node
    #[arg(value_name = "NODE")]
    pub node: String,
    /// The snapshot's LV name
    #[arg(value_name = "LVSNAPSHOT")]
    pub snapshot: String,
    /// Its origin, VG/LV
    #[arg(long, default_value = "pve/root")]
    pub volume: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LvmCleanupArgs {
    /// Only this node (default: every node proxdeck reaches over SSH)
    #[arg(value_name = "NODE")]
    pub node: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UpgradeArgs {
    /// The node to upgrade
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Instead of the policy's upgrade command
    #[arg(long)]
    pub command: Option<String>,
}

/// An action line: the action, and why (for the record).
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "action",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct ActionLine {
    #[command(subcommand)]
    pub action: ActionText,
    /// Why (kept with the action and shown to approvers)
    #[arg(long, global = true)]
    pub reason: Option<String>,
}

impl ActionLine {
    /// Parse an action line (`replicate pve-db-01 --to all`). The error is
    /// clap's wording, first line and usage, for every front end alike.
    pub fn parse(line: &str) -> Result<ActionLine, EngineError> {
        let words = words::split(line).map_err(EngineError::Invalid)?;
        ActionLine::parse_words(&words)
    }

    /// Parse words already split.
    pub fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<ActionLine, EngineError> {
        ActionLine::try_parse_from(words.iter().map(|w| w.as_ref()))
            .map_err(|e| EngineError::Invalid(syntax_message(&e)))
    }
}

/// clap's error in one line: what is wrong, and the action's usage, the
/// same whichever front end parsed the words (`proxdeck plan ...` or `:`).
pub fn syntax_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut what = Vec::new();
    let mut usage = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
            break;
        }
        if line.starts_with("tip:") || line.starts_with("For more information") {
            continue;
        }
        what.push(line.trim_start_matches("error: ").to_string());
    }
    let what = if what.is_empty() {
        "not an action".to_string()
    } else {
        what.join(" ")
    };
    // The usage from the action word on (`proxdeck plan` or nothing before it).
    let words = action_words();
    let usage = usage.map(|u| {
        let parts: Vec<&str> = u.split_whitespace().collect();
        let from = parts
            .iter()
            .position(|p| words.iter().any(|w| w == p))
            .unwrap_or(0);
        parts[from..].join(" ")
    });
    match usage {
        Some(u) if !u.is_empty() => format!("{what} (usage: {u})"),
        _ => what,
    }
}

impl ActionText {
    /// The action's word (`replicate`, `assign-ip`).
    pub fn word(&self) -> &'static str {
        match self {
            ActionText::Replicate(_) => "replicate",
            ActionText::Clone(_) => "clone",
            ActionText::Snapshot(_) => "snapshot",
            ActionText::Rollback(_) => "rollback",
            ActionText::AssignIp(_) => "assign-ip",
            ActionText::DeleteSnapshot(_) => "delete-snapshot",
            ActionText::Delete(_) => "delete",
            ActionText::Backup(_) => "backup",
            ActionText::Verify(_) => "verify",
            ActionText::Sync(_) => "sync",
            ActionText::Prune(_) => "prune",
            ActionText::Restore(_) => "restore",
            ActionText::LvmSnapshot(_) => "lvm-snapshot",
            ActionText::LvmMerge(_) => "lvm-merge",
            ActionText::LvmCleanup(_) => "lvm-cleanup",
            ActionText::Upgrade(_) => "upgrade",
        }
    }

    /// Whether resolving needs the backup listings (archives by name).
    pub fn needs_backups(&self) -> bool {
        matches!(
            self,
            ActionText::Verify(_)
                | ActionText::Sync(_)
                | ActionText::Prune(_)
                | ActionText::Restore(_)
        )
    }

    /// The typed action these words mean in this cluster.
    pub fn resolve(&self, r: &Resolver<'_>) -> Result<Action, EngineError> {
        resolve::resolve(self, r)
    }
}

/// Every action word, for completion and help.
pub fn action_words() -> Vec<String> {
    use clap::CommandFactory;
    ActionLine::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}
