//! `proxdeck backup create|verify|sync|prune|restore|list`: every change as a
//! plan through the queue; `list` reads the storages and the catalog.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, guest, inventory};
use super::plan::propose;
use crate::backup::prune::Mark;
use crate::engine::plan_backup::{describe_keep, prune_marks};
use crate::engine::{Action, Engine};
use crate::inventory::Inventory;
use crate::macaddr::MacAddr;
use crate::pve::GuestKind;
use crate::pve::types::StorageContent;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up a guest with vzdump (then --verify, --sync, --prune)
    Create {
        guest: String,
        #[arg(long)]
        storage: String,
        /// snapshot, suspend or stop
        #[arg(long, default_value = "snapshot")]
        mode: String,
        /// zstd, gzip, lzo or 0
        #[arg(long, default_value = "zstd")]
        compress: String,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        verify: bool,
        #[arg(long)]
        sync: bool,
        #[arg(long)]
        prune: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check an archive's integrity on its node (compression, structure, SHA-256)
    Verify {
        /// A volid or an archive's file name
        backup: String,
        #[arg(long)]
        json: bool,
    },
    /// Copy an archive to a storage on another node and compare SHA-256
    Sync {
        backup: String,
        #[arg(long)]
        to_node: String,
        #[arg(long)]
        to_storage: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a guest's backups on a storage that retention does not keep
    Prune {
        guest: String,
        #[arg(long)]
        storage: String,
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup as a new guest (name, IP and MAC from the identity engine unless given)
    Restore {
        backup: String,
        /// Target node
        #[arg(long)]
        to: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        ip: Option<Ipv4Addr>,
        /// A MAC, or auto-generate
        #[arg(long)]
        mac: Option<String>,
        #[arg(long)]
        start: bool,
        /// LVM snapshot of the target node's root first
        #[arg(long)]
        snapshot_target: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Backups across nodes and storages, with verification and the rule that keeps each
    List {
        /// Only this guest's
        #[arg(long)]
        guest: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// One archive as listed: where it is and what it is.
#[derive(Debug, Clone)]
pub struct Found {
    pub node: String,
    pub storage: String,
    pub shared: bool,
    pub content: StorageContent,
}

/// Every backup on every backup storage of online nodes (shared ones once).
pub async fn all_backups(engine: &Engine, inv: &Inventory) -> Result<Vec<Found>, CliError> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for s in &inv.storages {
        if !s.content.iter().any(|c| c == "backup")
            || !inv.node(&s.node).is_some_and(|n| n.online())
        {
            continue;
        }
        if s.shared {
            if seen.contains(&s.storage) {
                continue;
            }
            seen.push(s.storage.clone());
        }
        for c in engine
            .client()
            .storage_content(&s.node, &s.storage, Some("backup"), None)
            .await?
        {
            out.push(Found {
                node: s.node.clone(),
                storage: s.storage.clone(),
                shared: s.shared,
                content: c,
            });
        }
    }
    Ok(out)
}

/// An archive by volid or file name.
async fn find(engine: &Engine, inv: &Inventory, which: &str) -> Result<Found, CliError> {
    let all = all_backups(engine, inv).await?;
    let file = which.rsplit(['/', ':']).next().unwrap_or(which);
    let hits: Vec<&Found> = all
        .iter()
        .filter(|f| {
            f.content.volid == which || f.content.volid.rsplit(['/', ':']).next() == Some(file)
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError(format!(
            "no backup {which} on any backup storage of an online node"
        ))),
        many => Err(CliError(format!(
            "{which} is on several storages ({}): give the volid",
            many.iter()
                .map(|f| f.content.volid.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The guest a backup is of, when it is still in the cluster.
fn guest_of(inv: &Inventory, f: &Found) -> Option<crate::engine::GuestSel> {
    f.content
        .vmid
        .and_then(|v| inv.guest(v))
        .map(crate::engine::GuestSel::of)
}

fn json_of(cmd: &BackupCommand) -> bool {
    match cmd {
        BackupCommand::Create { json, .. }
        | BackupCommand::Verify { json, .. }
        | BackupCommand::Sync { json, .. }
        | BackupCommand::Prune { json, .. }
        | BackupCommand::Restore { json, .. }
        | BackupCommand::List { json, .. } => *json,
    }
}

pub fn run(cli: &Cli, cmd: &BackupCommand) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let as_json = json_of(cmd);
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let (action, reason) = match cmd {
            BackupCommand::List { guest: g, .. } => {
                return list(&engine, &inv, g.as_deref(), as_json).await;
            }
            BackupCommand::Create {
                guest: g,
                storage,
                mode,
                compress,
                notes,
                verify,
                sync,
                prune,
                reason,
                ..
            } => (
                Action::CreateBackup {
                    guest: guest(&inv, g)?,
                    storage: storage.clone(),
                    mode: mode.clone(),
                    compress: compress.clone(),
                    notes: notes.clone(),
                    verify: *verify,
                    sync: *sync,
                    prune: *prune,
                },
                reason.clone(),
            ),
            BackupCommand::Verify { backup, .. } => {
                let f = find(&engine, &inv, backup).await?;
                let g = guest_of(&inv, &f);
                (
                    Action::VerifyBackup {
                        volid: f.content.volid,
                        node: f.node,
                        guest: g,
                    },
                    None,
                )
            }
            BackupCommand::Sync {
                backup,
                to_node,
                to_storage,
                ..
            } => {
                let f = find(&engine, &inv, backup).await?;
                let g = guest_of(&inv, &f);
                (
                    Action::SyncBackup {
                        volid: f.content.volid,
                        node: f.node,
                        to_node: to_node.clone(),
                        to_storage: to_storage.clone(),
                        guest: g,
                    },
                    None,
                )
            }
            BackupCommand::Prune {
                guest: g, storage, ..
            } => {
                let sel = guest(&inv, g)?;
                let node = inv
                    .storages
                    .iter()
                    .find(|s| s.storage == *storage && (s.node == sel.node || s.shared))
                    .map(|s| {
                        if s.node == sel.node || !s.shared {
                            s.node.clone()
                        } else {
                            sel.node.clone()
                        }
                    })
                    .ok_or_else(|| {
                        CliError(format!("no storage {storage} reachable from {}", sel.node))
                    })?;
                (
                    Action::PruneBackups {
                        vmid: sel.vmid,
                        storage: storage.clone(),
                        node,
                        guest: Some(sel),
                    },
                    None,
                )
            }
            BackupCommand::Restore {
                backup,
                to,
                name,
                ip,
                mac,
                start,
                snapshot_target,
                reason,
                ..
            } => {
                let f = find(&engine, &inv, backup).await?;
                let a = crate::backup::archive::parse(&f.content.volid).ok_or_else(|| {
                    CliError(format!("{} is not a vzdump archive", f.content.volid))
                })?;
                let kind = GuestKind::parse(&a.guest_type)
                    .ok_or_else(|| CliError(format!("cannot restore a {} backup", a.guest_type)))?;
                let new_mac = match mac.as_deref() {
                    None | Some("auto-generate") | Some("auto") => None,
                    Some(m) => Some(
                        m.parse::<MacAddr>()
                            .map_err(|e| CliError(format!("--mac {m}: {e}")))?,
                    ),
                };
                let g = inv.guest(a.vmid).map(crate::engine::GuestSel::of);
                (
                    Action::RestoreBackup {
                        volid: f.content.volid,
                        node: f.node,
                        target_node: to.clone(),
                        new_name: name.clone(),
                        new_ip: *ip,
                        new_mac,
                        start: *start,
                        snapshot_target: *snapshot_target,
                        guest: g,
                        kind,
                    },
                    reason.clone(),
                )
            }
        };
        propose(&engine, &inv, action, reason, as_json).await
    })
}

async fn list(
    engine: &Engine,
    inv: &Inventory,
    only: Option<&str>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let all = all_backups(engine, inv).await?;
    let vmid = match only {
        Some(g) => Some(guest(inv, g)?.vmid),
        None => None,
    };
    let known = engine
        .store()
        .read(|c| crate::backup::catalog::known_by_volid(c, engine.cluster()))?;
    let keep = engine.config().policies.ops.backup_retention;
    let mut rows = Vec::new();
    let mut groups: std::collections::BTreeMap<(String, u32), Vec<StorageContent>> =
        Default::default();
    for f in &all {
        if let Some(v) = f.content.vmid {
            groups
                .entry((f.storage.clone(), v))
                .or_default()
                .push(f.content.clone());
        }
    }
    let mut class = std::collections::HashMap::new();
    for ((_, v), list) in &groups {
        for (c, m) in prune_marks(list, *v, &keep) {
            class.insert(
                c.volid.clone(),
                if m == Mark::Remove {
                    "next prune".to_string()
                } else {
                    m.label()
                },
            );
        }
    }
    for f in all
        .iter()
        .filter(|f| vmid.is_none() || f.content.vmid == vmid)
    {
        let k = known.get(&f.content.volid);
        rows.push(json!({
            "volid": f.content.volid, "node": f.node, "storage": f.storage, "shared": f.shared,
            "vmid": f.content.vmid, "guest": f.content.vmid.and_then(|v| inv.guest(v)).map(|g| g.name.clone()),
            "ctime": f.content.ctime, "size": f.content.size, "format": f.content.format,
            "protected": f.content.protected, "notes": f.content.notes,
            "verification": k.map(|k| k.verify_state.clone()).unwrap_or_else(|| "unverified".into()),
            "verify_message": k.and_then(|k| k.verify_message.clone()),
            "mode": k.and_then(|k| k.mode.clone()),
            "kept_by": class.get(&f.content.volid),
        }));
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"retention": describe_keep(&keep), "backups": rows})
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("retention: {}", describe_keep(&keep));
    for r in &rows {
        println!(
            "{:<16} {:<58} {:>9} {:<10} {}",
            r["guest"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| r["vmid"].to_string()),
            r["volid"].as_str().unwrap_or(""),
            r["size"]
                .as_u64()
                .map(crate::tui::fmt::bytes)
                .unwrap_or_default(),
            r["verification"].as_str().unwrap_or(""),
            r["kept_by"].as_str().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}
