//! `proxdeck plan ...`: propose an action; it is planned, checked against
//! policy and queued (pending approval, or approved when policy allows).

use std::net::Ipv4Addr;

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, guest, inventory};
use crate::engine::{Action, ActionRecord, Actor, EngineError, Targets, Via};
use crate::macaddr::MacAddr;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Replicate a template or guest to other nodes
    Replicate {
        guest: String,
        /// `all`, or nodes separated by commas (node-02 or pve-node-02)
        #[arg(long)]
        to: String,
        /// Start the replicas (not for templates)
        #[arg(long)]
        start: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Clone a guest to a node as a new guest named by the convention
    Clone {
        guest: String,
        #[arg(long)]
        to: String,
        /// The new guest's role (default: the source's)
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        start: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Take a guest snapshot
    Snapshot {
        guest: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Include RAM (VMs)
        #[arg(long)]
        vmstate: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Roll a guest back to a snapshot (a safety snapshot is taken first when policy says so)
    Rollback {
        guest: String,
        snapshot: String,
        #[arg(long)]
        start: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give a guest a static address (the next free one unless given)
    AssignIp {
        guest: String,
        #[arg(long)]
        ip: Option<Ipv4Addr>,
        #[arg(long)]
        mac: Option<MacAddr>,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a guest snapshot by hand (prohibited by the shipped policy)
    DeleteSnapshot {
        guest: String,
        snapshot: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a guest
    Delete {
        guest: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl PlanCommand {
    fn json(&self) -> bool {
        match self {
            PlanCommand::Replicate { json, .. }
            | PlanCommand::Clone { json, .. }
            | PlanCommand::Snapshot { json, .. }
            | PlanCommand::Rollback { json, .. }
            | PlanCommand::AssignIp { json, .. }
            | PlanCommand::DeleteSnapshot { json, .. }
            | PlanCommand::Delete { json, .. } => *json,
        }
    }

    fn reason(&self) -> Option<String> {
        match self {
            PlanCommand::Replicate { reason, .. }
            | PlanCommand::Clone { reason, .. }
            | PlanCommand::Snapshot { reason, .. }
            | PlanCommand::Rollback { reason, .. }
            | PlanCommand::AssignIp { reason, .. }
            | PlanCommand::DeleteSnapshot { reason, .. }
            | PlanCommand::Delete { reason, .. } => reason.clone(),
        }
    }
}

fn targets(to: &str) -> Targets {
    if to == "all" {
        Targets::All
    } else {
        Targets::Nodes(
            to.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }
}

/// JSON of a queued action (every proposal's JSON carries its id).
pub fn record_json(rec: &ActionRecord) -> serde_json::Value {
    json!({
        "id": rec.id, "kind": rec.kind, "state": rec.state, "policy_rule": rec.policy_rule,
        "plan_hash": rec.plan_hash, "proposed_by": rec.proposed_by.label(), "reason": rec.reason,
        "describe": rec.action.describe(), "plan": rec.plan, "error": rec.error,
    })
}

pub fn run(cli: &Cli, cmd: &PlanCommand) -> Result<std::process::ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let action = match cmd {
            PlanCommand::Replicate {
                guest: g,
                to,
                start,
                ..
            } => Action::Replicate {
                source: guest(&inv, g)?,
                targets: targets(to),
                start: *start,
            },
            PlanCommand::Clone {
                guest: g,
                to,
                role,
                start,
                ..
            } => Action::CloneGuest {
                source: guest(&inv, g)?,
                target_node: to.clone(),
                role: role.clone(),
                start: *start,
            },
            PlanCommand::Snapshot {
                guest: g,
                name,
                description,
                vmstate,
                ..
            } => Action::CreateGuestSnapshot {
                guest: guest(&inv, g)?,
                name: name.clone(),
                description: description.clone(),
                vmstate: *vmstate,
            },
            PlanCommand::Rollback {
                guest: g,
                snapshot,
                start,
                ..
            } => Action::RollbackGuestSnapshot {
                guest: guest(&inv, g)?,
                snapshot: snapshot.clone(),
                start: *start,
            },
            PlanCommand::AssignIp {
                guest: g,
                ip,
                mac,
                hostname,
                ..
            } => Action::AssignStaticIp {
                guest: guest(&inv, g)?,
                ip: *ip,
                mac: *mac,
                hostname: hostname.clone(),
            },
            PlanCommand::DeleteSnapshot {
                guest: g, snapshot, ..
            } => Action::DeleteGuestSnapshot {
                guest: guest(&inv, g)?,
                snapshot: snapshot.clone(),
                by_retention: false,
            },
            PlanCommand::Delete { guest: g, .. } => Action::DeleteGuest {
                guest: guest(&inv, g)?,
            },
        };
        propose(&engine, &inv, action, cmd.reason(), cmd.json()).await
    })
}

/// Propose an action from the command line and print the outcome (its plan,
/// or the policy rule that refused it); the JSON carries the action's id.
pub async fn propose(
    engine: &crate::engine::Engine,
    inv: &crate::inventory::Inventory,
    action: Action,
    reason: Option<String>,
    as_json: bool,
) -> Result<std::process::ExitCode, CliError> {
    match engine
        .propose(action, Actor::local(Via::Cli), reason, inv)
        .await
    {
        Ok(rec) => {
            if as_json {
                println!("{}", serde_json::to_string_pretty(&record_json(&rec))?);
            } else {
                let state = match rec.state {
                    crate::engine::ActionState::PendingApproval => format!(
                        "pending approval ({})",
                        rec.policy_rule.as_deref().unwrap_or("")
                    ),
                    s => s.to_string(),
                };
                println!("queued {}: {state}", rec.id);
                if let Some(p) = &rec.plan {
                    print!("{}", p.render());
                }
                println!("plan hash {}", rec.plan_hash.as_deref().unwrap_or(""));
                if rec.state == crate::engine::ActionState::PendingApproval {
                    println!("approve with: proxdeck approve {}", rec.id);
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(EngineError::Policy { rule, reason }) => {
            if as_json {
                println!(
                    "{}",
                    json!({"state": "rejected", "rule": rule, "reason": reason})
                );
            } else {
                eprintln!("proxdeck: rejected by policy rule {rule}: {reason}");
            }
            Ok(std::process::ExitCode::FAILURE)
        }
        Err(e) => Err(CliError(e.to_string())),
    }
}
