//! `proxdeck lvm snapshot|list|restore|cleanup` and `proxdeck upgrade NODE`:
//! host-level work over SSH, every change as a plan through the queue.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, inventory};
use super::plan::propose;
use crate::engine::Action;

#[derive(Debug, Subcommand)]
pub enum LvmCommand {
    /// Take an LVM snapshot of a host volume (pve/root unless --volume)
    Snapshot {
        node: String,
        #[arg(long)]
        volume: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// 20% of the origin, or 8G
        #[arg(long)]
        size: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// LVM snapshots on a node (or every reachable node), with usage and state
    List {
        node: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Merge a snapshot back into its origin (at the next reboot while the origin is in use)
    Restore {
        node: String,
        snapshot: String,
        #[arg(long, default_value = "pve/root")]
        volume: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove the snapshots retention says have expired (only those proxdeck made)
    Cleanup {
        node: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: &Cli, cmd: &LvmCommand) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let (action, as_json) = match cmd {
            LvmCommand::List { node, json } => {
                let nodes: Vec<String> = match node {
                    Some(n) => vec![engine.config().naming.node(n).map(|e| e.pve_name.clone()).unwrap_or_else(|| n.clone())],
                    None => inv.nodes.iter().filter(|n| engine.host_runner().is_some_and(|h| h.reaches(&n.name))).map(|n| n.name.clone()).collect(),
                };
                if nodes.is_empty() {
                    return Err(CliError("no node is reachable over SSH (ssh.nodes in proxdeck.yml)".into()));
                }
                let warn = engine.config().policies.ops.lvm.usage_warning_percent;
                let mut rows = Vec::new();
                for n in nodes {
                    let lvs = engine.lvs(&n).await.map_err(|e| CliError(e.to_string()))?;
                    let (node, l2) = (n.clone(), lvs.clone());
                    engine
                        .store()
                        .write(|tx| crate::lvm::catalog::sync_node(tx, engine.cluster(), &node, &l2))?;
                    for l in lvs.iter().filter(|l| l.is_snapshot()) {
                        let usage = l.snap_percent.unwrap_or(0.0);
                        rows.push(json!({
                            "node": n, "volume": format!("{}/{}", l.vg, l.origin.clone().unwrap_or_default()), "name": l.name,
                            "size": l.size_bytes, "usage_percent": l.snap_percent, "created": l.created, "state": l.state(),
                            "nearly_full": usage >= warn && !l.is_invalid(),
                        }));
                    }
                }
                if *json {
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else {
                    for r in &rows {
                        let flag = if r["nearly_full"] == true { "  NEARLY FULL" } else { "" };
                        println!(
                            "{:<12} {:<10} {:<28} {:>6}%  {}{flag}",
                            r["node"].as_str().unwrap_or(""),
                            r["volume"].as_str().unwrap_or(""),
                            r["name"].as_str().unwrap_or(""),
                            r["usage_percent"].as_f64().map(|u| format!("{u:.1}")).unwrap_or_default(),
                            match r["state"].as_str() {
                                Some("merge_pending") => crate::lvm::MERGE_PENDING,
                                Some(s) => s,
                                None => "",
                            }
                        );
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            LvmCommand::Snapshot { node, volume, name, size, description, json } => (
                Action::CreateLvmSnapshot { node: node.clone(), volume: volume.clone(), name: name.clone(), size: size.clone(), description: description.clone() },
                *json,
            ),
            LvmCommand::Restore { node, snapshot, volume, json } => (
                Action::RestoreLvmSnapshot { node: node.clone(), volume: volume.clone(), name: snapshot.clone() },
                *json,
            ),
            LvmCommand::Cleanup { node, json } => (Action::CleanupLvmSnapshots { node: node.clone() }, *json),
        };
        propose(&engine, &inv, action, None, as_json).await
    })
}

/// `proxdeck upgrade NODE`.
pub fn upgrade(
    cli: &Cli,
    node: &str,
    command: Option<&str>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        propose(
            &engine,
            &inv,
            Action::GuardedHostUpgrade {
                node: node.to_string(),
                command: command.map(str::to_string),
            },
            None,
            as_json,
        )
        .await
    })
}
