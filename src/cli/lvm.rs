//! `proxdeck lvm snapshot|list|restore|cleanup` and `proxdeck upgrade NODE`:
//! host-level work over SSH, every change as a plan through the queue.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::backup::With;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, inventory};
use super::plan::propose_text;
use crate::engine::grammar::{
    ActionText, LvmCleanupArgs, LvmMergeArgs, LvmSnapshotArgs, UpgradeArgs,
};

#[derive(Debug, Subcommand)]
pub enum LvmCommand {
    /// Take an LVM snapshot of a host volume (pve/root unless --volume)
    Snapshot(With<LvmSnapshotArgs>),
    /// LVM snapshots on a node (or every reachable node), with usage and state
    List {
        /// Only this node
        node: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Merge a snapshot back into its origin (at the next reboot while the origin is in use)
    Restore(With<LvmMergeArgs>),
    /// Remove the snapshots retention says have expired (only those proxdeck made)
    Cleanup(With<LvmCleanupArgs>),
}

pub fn run(cli: &Cli, cmd: &LvmCommand) -> Result<ExitCode, CliError> {
    match cmd {
        LvmCommand::Snapshot(w) => {
            propose_text(cli, &ActionText::LvmSnapshot(w.args.clone()), &w.opts)
        }
        LvmCommand::Restore(w) => propose_text(cli, &ActionText::LvmMerge(w.args.clone()), &w.opts),
        LvmCommand::Cleanup(w) => {
            propose_text(cli, &ActionText::LvmCleanup(w.args.clone()), &w.opts)
        }
        LvmCommand::List { node, json } => list(cli, node.as_deref(), *json),
    }
}

/// LVM snapshots of a node (or every node reached over SSH), catalog synced.
fn list(cli: &Cli, node: Option<&str>, as_json: bool) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let nodes: Vec<String> = match node {
            Some(n) => vec![
                engine
                    .config()
                    .naming
                    .node(n)
                    .map(|e| e.pve_name.clone())
                    .unwrap_or_else(|| n.to_string()),
            ],
            None => inv
                .nodes
                .iter()
                .filter(|n| engine.host_runner().is_some_and(|h| h.reaches(&n.name)))
                .map(|n| n.name.clone())
                .collect(),
        };
        if nodes.is_empty() {
            return Err(CliError(
                "no node is reachable over SSH (ssh.nodes in proxdeck.yml)".into(),
            ));
        }
        let warn = engine.config().policies.ops.lvm.usage_warning_percent;
        let mut rows = Vec::new();
        for n in nodes {
            let lvs = engine.read_lvs(&n).await?;
            for l in lvs.iter().filter(|l| l.is_snapshot()) {
                let usage = l.snap_percent.unwrap_or(0.0);
                rows.push(json!({
                    "node": n, "volume": format!("{}/{}", l.vg, l.origin.clone().unwrap_or_default()), "name": l.name,
                    "size": l.size_bytes, "usage_percent": l.snap_percent, "created": l.created, "state": l.state(),
                    "nearly_full": usage >= warn && !l.is_invalid(),
                }));
            }
        }
        if as_json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(ExitCode::SUCCESS);
        }
        for r in &rows {
            let flag = if r["nearly_full"] == true {
                "  NEARLY FULL"
            } else {
                ""
            };
            println!(
                "{:<12} {:<10} {:<28} {:>6}%  {}{flag}",
                r["node"].as_str().unwrap_or(""),
                r["volume"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or(""),
                r["usage_percent"]
                    .as_f64()
                    .map(|u| format!("{u:.1}"))
                    .unwrap_or_default(),
                match r["state"].as_str() {
                    Some("merge_pending") => crate::lvm::MERGE_PENDING,
                    Some(s) => s,
                    None => "",
                }
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `proxdeck upgrade NODE`: the grammar's `upgrade`.
pub fn upgrade(cli: &Cli, w: &With<UpgradeArgs>) -> Result<ExitCode, CliError> {
    propose_text(cli, &ActionText::Upgrade(w.args.clone()), &w.opts)
}
