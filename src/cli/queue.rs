//! `proxdeck queue | show | approve | reject | cancel | status | run | audit`.

use std::process::ExitCode;

use serde_json::json;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::engine;
use super::plan::record_json;
use super::table;
use crate::engine::{ActionState, Actor, Via, audit};

pub fn queue(cli: &Cli, all: bool, json_out: bool) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let states: Vec<ActionState> = if all {
        vec![]
    } else {
        vec![
            ActionState::Proposed,
            ActionState::PendingApproval,
            ActionState::Approved,
            ActionState::Running,
        ]
    };
    let list = rt.block_on(engine.list(states))?;
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&list.iter().map(record_json).collect::<Vec<_>>())?
        );
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    match (&r.waiting, r.state) {
                        (Some(w), ActionState::Approved) => format!("approved ({w})"),
                        _ => r.state.to_string(),
                    },
                    r.action.describe(),
                    r.proposed_by.label(),
                    crate::timefmt::format_local(r.created_at, "%Y-%m-%d %H:%M"),
                    r.policy_rule
                        .clone()
                        .or(r.error.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        println!(
            "{}",
            table::render(
                &["ID", "STATE", "ACTION", "BY", "SINCE", "RULE / ERROR"],
                &rows
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(cli: &Cli, id: &str, json_out: bool) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let rec = rt
        .block_on(engine.get(id))?
        .ok_or_else(|| CliError(format!("no action {id}")))?;
    let steps = rt.block_on(engine.steps(id))?;
    if json_out {
        let mut v = record_json(&rec);
        v["steps"] = json!(steps);
        v["result"] = json!(rec.result);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} [{}] {}", rec.id, rec.state, rec.action.describe());
        if let (Some(w), ActionState::Approved) = (&rec.waiting, rec.state) {
            println!("{w}");
        }
        println!(
            "proposed by {}{}",
            rec.proposed_by.label(),
            rec.reason
                .as_ref()
                .map(|r| format!(" because: {r}"))
                .unwrap_or_default()
        );
        if let Some(rule) = &rec.policy_rule {
            println!("policy: {rule}");
        }
        if let Some(p) = &rec.plan {
            print!("{}", p.render());
        }
        println!("plan hash {}", rec.plan_hash.as_deref().unwrap_or(""));
        for s in &steps {
            println!(
                "  {:>2}. {:<26} {:<8} {}{}",
                s.seq,
                s.key,
                s.state.as_str(),
                s.upid.as_deref().unwrap_or(""),
                s.error
                    .as_ref()
                    .map(|e| format!(" — {e}"))
                    .unwrap_or_default()
            );
        }
        if let Some(e) = &rec.error {
            println!("error: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn approve(
    cli: &Cli,
    id: &str,
    plan_hash: Option<&str>,
    reason: Option<&str>,
) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let rec = engine
            .get(id)
            .await?
            .ok_or_else(|| CliError(format!("no action {id}")))?;
        // Without --plan-hash the CLI approves the plan as stored (shown by `proxdeck show`).
        let hash = plan_hash
            .map(str::to_string)
            .or(rec.plan_hash.clone())
            .unwrap_or_default();
        let rec = engine
            .approve(
                id,
                Actor::local(Via::Cli),
                &hash,
                reason.map(str::to_string),
            )
            .await?;
        println!(
            "{} approved; `proxdeck run` (or an open console) will run it",
            rec.id
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub fn reject(cli: &Cli, id: &str, why: &str) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let rec = rt.block_on(engine.reject(id, Actor::local(Via::Cli), why))?;
    println!("{} rejected", rec.id);
    Ok(ExitCode::SUCCESS)
}

pub fn cancel(cli: &Cli, id: &str) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let rec = rt.block_on(engine.cancel(id, Actor::local(Via::Cli)))?;
    if rec.state == ActionState::Running {
        println!("{} will stop after its current step", rec.id);
    } else {
        println!("{} cancelled", rec.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(cli: &Cli, id: &str, json_out: bool) -> Result<ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let st = rt.block_on(engine.status(id))?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        println!("{} {} {:.0}%", st.task_id, st.status, st.progress);
        let rows: Vec<Vec<String>> = st
            .results
            .iter()
            .map(|r| {
                vec![
                    r.target_node.clone(),
                    r.new_resource_id.clone(),
                    r.new_resource_name.clone(),
                    r.ip.clone().unwrap_or_default(),
                    r.mac.clone().unwrap_or_default(),
                    r.status.to_string(),
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            println!(
                "{}",
                table::render(
                    &["TARGET", "VMID", "NAME", "IP", "MAC", "STATUS", "ERROR"],
                    &rows
                )
            );
        }
        if let Some(e) = &st.error {
            println!("error: {e}");
        }
    }
    // A script can rely on it: 1 when the action ended without succeeding.
    let ended_badly = ActionState::parse(&st.status).is_some_and(|s| s.is_terminal());
    Ok(if ended_badly {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run(cli: &Cli, once: bool, lease_secs: Option<i64>) -> Result<ExitCode, CliError> {
    let engine = engine(cli, lease_secs)?;
    let rt = runtime()?;
    let outcomes = rt.block_on(async {
        if once {
            engine.run_once_report().await
        } else {
            eprintln!("proxdeck: running approved actions for {} (Ctrl-C stops; running actions are resumed by the next executor)", engine.cluster());
            // Each minute: read the cluster, keep metadata current, propose missing replicas.
            let refresher = {
                let engine = engine.clone();
                async move {
                    loop {
                        match super::engine_ctx::inventory(&engine).await {
                            Ok(inv) => {
                                if let Err(e) = engine.propose_missing_replicas(&inv).await {
                                    tracing::warn!(error = %e, "auto-replication");
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "inventory refresh"),
                        }
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    }
                }
            };
            tokio::select! {
                r = engine.run_until(super::sim::wait_for_shutdown()) => r.map(|_| Vec::new()),
                _ = refresher => Ok(Vec::new()),
            }
        }
    })?;
    eprintln!("proxdeck: ran {} action(s)", outcomes.len());
    let bad: Vec<String> = outcomes
        .iter()
        .filter(|(_, s)| *s != ActionState::Succeeded)
        .map(|(id, s)| format!("{id} {s}"))
        .collect();
    if bad.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("proxdeck: not succeeded: {}", bad.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

pub fn audit_verify(cli: &Cli) -> Result<ExitCode, CliError> {
    let store = crate::store::Store::open(&cli.db_path())?;
    let v = audit::verify(&store)?;
    for w in &v.warnings {
        eprintln!("warning: {w}");
    }
    if v.problems.is_empty() {
        println!("ok: {} audit rows, chain intact", v.rows);
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &v.problems {
            println!("BROKEN: {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
