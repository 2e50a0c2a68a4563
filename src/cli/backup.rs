//! `proxdeck backup create|verify|sync|prune|restore|list`: the first five
//! are the action grammar's `backup`, `verify`, `sync`, `prune` and
//! `restore` (the same words as `proxdeck plan ...`); `list` reads the
//! storages and the catalog.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, guest, inventory};
use super::plan::{ProposeOpts, propose_text};
use crate::engine::grammar::{
    ActionText, BackupArgs, PruneArgs, RestoreArgs, SyncArgs, VerifyArgs,
};
use crate::engine::workflows::common::backup::describe_keep;

/// An action of the grammar with the proposing options.
#[derive(Debug, Args)]
pub struct With<A: Args> {
    #[command(flatten)]
    pub args: A,
    #[command(flatten)]
    pub opts: ProposeOpts,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up a guest with vzdump (then --verify, --sync, --prune)
    Create(With<BackupArgs>),
    /// Check an archive's integrity on its node (compression, structure, SHA-256)
    Verify(With<VerifyArgs>),
    /// Copy an archive to the secondary storage and compare SHA-256
    Sync(With<SyncArgs>),
    /// Remove a guest's backups on a storage that retention does not keep
    Prune(With<PruneArgs>),
    /// Restore a backup (an archive, or --latest-of GUEST) as a new guest
    Restore(With<RestoreArgs>),
    /// Backups across nodes and storages, with verification and the rule that keeps each
    List {
        /// Only this guest's (name or VMID)
        #[arg(long)]
        guest: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: &Cli, cmd: &BackupCommand) -> Result<ExitCode, CliError> {
    match cmd {
        BackupCommand::Create(w) => propose_text(cli, &ActionText::Backup(w.args.clone()), &w.opts),
        BackupCommand::Verify(w) => propose_text(cli, &ActionText::Verify(w.args.clone()), &w.opts),
        BackupCommand::Sync(w) => propose_text(cli, &ActionText::Sync(w.args.clone()), &w.opts),
        BackupCommand::Prune(w) => propose_text(cli, &ActionText::Prune(w.args.clone()), &w.opts),
        BackupCommand::Restore(w) => {
            propose_text(cli, &ActionText::Restore(w.args.clone()), &w.opts)
        }
        BackupCommand::List { guest: g, json } => list(cli, g.as_deref(), *json),
    }
}

fn list(cli: &Cli, only: Option<&str>, as_json: bool) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let vmid = match only {
            Some(g) => Some(guest(&inv, g)?.vmid),
            None => None,
        };
        let all = engine.read_backups(&inv).await?;
        let keep = engine.config().policies.ops.backup_retention;
        let rows: Vec<serde_json::Value> = all
            .iter()
            .filter(|b| vmid.is_none() || b.content.vmid == vmid)
            .map(|b| {
                json!({
                    "volid": b.content.volid, "node": b.node, "storage": b.storage, "shared": b.shared,
                    "vmid": b.content.vmid, "guest": b.content.vmid.and_then(|v| inv.guest(v)).map(|g| g.name.clone()),
                    "ctime": b.content.ctime, "size": b.content.size, "format": b.content.format,
                    "protected": b.content.protected, "notes": b.content.notes,
                    "verification": b.verification.clone().unwrap_or_else(|| "unverified".into()),
                    "verify_message": b.verification_error,
                    "mode": b.mode,
                    "kept_by": b.kept_by,
                })
            })
            .collect();
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
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r["guest"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| r["vmid"].to_string()),
                    r["node"].as_str().unwrap_or("").to_string(),
                    r["volid"].as_str().unwrap_or("").to_string(),
                    r["size"]
                        .as_u64()
                        .map(crate::units::bytes)
                        .unwrap_or_default(),
                    r["verification"].as_str().unwrap_or("").to_string(),
                    r["kept_by"].as_str().unwrap_or("-").to_string(),
                ]
            })
            .collect();
        println!(
            "{}",
            super::table::render(
                &["GUEST", "NODE", "VOLID", "SIZE", "VERIFIED", "KEPT BY"],
                &body
            )
        );
        Ok(ExitCode::SUCCESS)
    })
}
