//! `proxdeck plan ACTION ...`: the action grammar on the command line. The
//! words after `plan` are the same as after `:` in the console; the action is
//! planned, checked against policy and queued (pending approval, or approved
//! when policy allows).

use clap::Args;
use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, inventory};
use crate::engine::grammar::{ActionText, Resolver};
use crate::engine::{ActionRecord, ActionState, Actor, Engine, EngineError, Via};
use crate::inventory::Inventory;

/// What every proposing command takes besides the action.
#[derive(Debug, Clone, Default, Args)]
pub struct ProposeOpts {
    /// Why (kept with the action and shown to approvers)
    #[arg(long, global = true)]
    pub reason: Option<String>,
    /// Print the queued action as JSON (its id, state, plan and hash)
    #[arg(long, global = true)]
    pub json: bool,
}

/// `proxdeck plan ...`
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub action: ActionText,
    #[command(flatten)]
    pub opts: ProposeOpts,
}

/// JSON of a queued action (every proposal's JSON carries its id).
pub fn record_json(rec: &ActionRecord) -> serde_json::Value {
    json!({
        "id": rec.id, "kind": rec.kind, "state": rec.state, "policy_rule": rec.policy_rule,
        "plan_hash": rec.plan_hash, "proposed_by": rec.proposed_by.label(), "reason": rec.reason,
        "describe": rec.action.describe(), "plan": rec.plan, "error": rec.error, "waiting": rec.waiting,
    })
}

pub fn run(cli: &Cli, args: &PlanArgs) -> Result<std::process::ExitCode, CliError> {
    propose_text(cli, &args.action, &args.opts)
}

/// Resolve action words against the cluster and propose them.
pub fn propose_text(
    cli: &Cli,
    text: &ActionText,
    opts: &ProposeOpts,
) -> Result<std::process::ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = inventory(&engine).await?;
        let backups = if text.needs_backups() {
            engine.read_backups(&inv).await?
        } else {
            Vec::new()
        };
        let action = text.resolve(&Resolver {
            config: engine.config(),
            inventory: &inv,
            backups: &backups,
        })?;
        propose(cli, &engine, &inv, action, opts).await
    })
}

/// Propose an action from the command line and print the outcome (its plan,
/// or the policy rule that refused it); the JSON carries the action's id.
pub async fn propose(
    cli: &Cli,
    engine: &Engine,
    inv: &Inventory,
    action: crate::engine::Action,
    opts: &ProposeOpts,
) -> Result<std::process::ExitCode, CliError> {
    match engine
        .propose(action, Actor::local(Via::Cli), opts.reason.clone(), inv)
        .await
    {
        Ok(rec) => {
            if opts.json {
                println!("{}", serde_json::to_string_pretty(&record_json(&rec))?);
            } else {
                let state = match rec.state {
                    ActionState::PendingApproval => format!(
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
                if rec.state == ActionState::PendingApproval {
                    println!("approve with: {}", cli.command_line(&["approve", &rec.id]));
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(EngineError::Policy { rule, reason }) => {
            if opts.json {
                println!(
                    "{}",
                    json!({"state": "rejected", "rule": rule, "reason": reason})
                );
            } else {
                eprintln!("proxdeck: rejected by policy rule {rule}: {reason}");
            }
            Ok(std::process::ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
