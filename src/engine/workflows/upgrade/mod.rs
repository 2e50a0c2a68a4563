//! The guarded host upgrade: LVM snapshot of the root volume, the upgrade
//! (its output streamed into the journal), a health check, then either keep
//! the snapshot (passed) or merge it back (failed; with the root volume in
//! use that happens at the next reboot, and the outcome says so).

use std::time::Duration;

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::lvm::{
    LvPurpose, Merge, MergeState, merge_step, record_made, set_state, snapshot_step, split,
};
use super::common::lvm_plan::{
    find_origin, lvcreate_line, new_snapshot, space_phrase, split_volume,
};
use super::step::note;
use super::{Outcome, Run, Workflow, failed};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList};
use crate::host::HostCommand;
use crate::lvm::MERGE_PENDING;

/// Upgrade a node's packages behind an LVM snapshot of its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardedHostUpgrade {
    pub node: String,
    /// None: the policy's upgrade command.
    pub command: Option<String>,
}

/// How the upgrade command ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Upgraded {
    exit: Option<i32>,
    message: String,
}

/// What the health check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Health {
    healthy: bool,
    #[serde(default)]
    why: String,
}

/// Keep the snapshot, or what merging it back did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
enum Decision {
    Kept { note: String },
    MergedBack(Merge),
}

impl Workflow for GuardedHostUpgrade {
    fn name(&self) -> &'static str {
        "upgrade"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::HostUpgrade
    }

    fn guests(&self) -> Vec<&GuestSel> {
        Vec::new()
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn id_prefix(&self) -> &'static str {
        "upgrade"
    }

    fn describe(&self) -> String {
        format!("upgrade {} behind an LVM snapshot", self.node)
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(engine.read_facts(std::slice::from_ref(&self.node), &[]))
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let retention = ctx.config.policies.snapshot_retention;
        let node = ctx.pve_node(&self.node)?;
        let ops = &ctx.config.policies.ops;
        let (vg, lv) = split_volume(&ops.lvm.default_volume)?;
        let lvs = ctx.facts.lvs_of(&node);
        let origin = find_origin(lvs, &node, &vg, &lv)?;
        let (name, size) = new_snapshot(tx, ctx, &node, lvs, origin, None, None)?;
        let command = self
            .command
            .clone()
            .unwrap_or_else(|| ops.upgrade.command.clone());
        let mut p = Plan::new(format!("Upgrade {node} behind LVM snapshot {vg}/{name}"));
        let mut steps = StepList::default();
        steps.add(
            "lvm-snapshot",
            None,
            format!(
                "{} ({})",
                lvcreate_line(&vg, &lv, &name, size.as_deref()),
                space_phrase(size.as_deref())
            ),
        );
        steps.add(
            "upgrade",
            None,
            format!("run as root, non-interactive: {command}"),
        );
        steps.add(
            "health-check",
            None,
            match &ops.upgrade.check_command {
                Some(c) => format!("run: {c} (must exit 0)"),
                None => "the upgrade command must have exited 0".to_string(),
            },
        );
        steps.add("decide", None, format!("passed: keep {name} for {} days; failed: merge it back (lvconvert --merge; the root volume is in use, so at the next reboot)", retention.max_age_days));
        steps.add("record", None, "record the outcome in the catalog");
        p.steps = steps.into_steps();
        p.safety_snapshot = Some(name);
        p.params.insert("node".into(), node);
        p.params.insert("volume".into(), format!("{vg}/{lv}"));
        if let Some(size) = size {
            p.params.insert("size".into(), size);
        }
        p.params.insert("command".into(), command);
        if let Some(c) = &ops.upgrade.check_command {
            p.params.insert("check".into(), c.clone());
        }
        p.params
            .insert("timeout_secs".into(), ops.upgrade.timeout_secs.to_string());
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let node = run.plan.param("node").unwrap_or_default().to_string();
            match steps(run).await {
                Ok((true, v)) => Outcome::Succeeded(v),
                Ok((false, v)) => Outcome::RolledBack {
                    error: format!(
                        "the upgrade of {node} failed its health check ({}); {}",
                        v["why"].as_str().unwrap_or("see the journal"),
                        v["rollback"].as_str().unwrap_or("")
                    ),
                    result: v,
                },
                Err(e) => failed(&e, Value::Null),
            }
        })
    }
}

async fn steps(run: &Run) -> Result<(bool, Value), EngineError> {
    let node = run.param("node")?;
    let volume = run.param("volume")?;
    let size = run.plan.param("size");
    let command = run.param("command")?;
    let timeout = Duration::from_secs(run.param("timeout_secs")?.parse().unwrap_or(3600));
    let name = run.plan.safety_snapshot.clone().unwrap_or_default();
    run.step("lvm-snapshot", |ctx| {
        snapshot_step(ctx, node, volume, &name, size)
    })
    .await?;
    // Kept with the action it guards: retention never removes it while the
    // upgrade runs or when it failed.
    record_made(
        run,
        node,
        volume,
        &name,
        Some("before a guarded upgrade"),
        LvPurpose::Safety,
    )
    .await?;
    let up: Upgraded = run
        .step("upgrade", |ctx| async move {
            let cmd = HostCommand::new("env")
                .args([
                    "DEBIAN_FRONTEND=noninteractive",
                    "APT_LISTCHANGES_FRONTEND=none",
                    "bash",
                    "-c",
                    command,
                ])
                .timeout(timeout);
            let out = ctx.host(node, &cmd).await?;
            Ok(Upgraded {
                exit: out.code,
                message: out.message(),
            })
        })
        .await?;
    let health: Health = run
        .step("health-check", |ctx| async move {
            if up.exit != Some(0) {
                return Ok(Health {
                    healthy: false,
                    why: format!(
                        "the upgrade exited {}: {}",
                        up.exit
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "by a signal".into()),
                        up.message
                    ),
                });
            }
            match run.plan.param("check") {
                None => Ok(Health {
                    healthy: true,
                    why: String::new(),
                }),
                Some(check) => {
                    let cmd = HostCommand::new("bash")
                        .args(["-c", check])
                        .timeout(Duration::from_secs(600));
                    let out = ctx.host(node, &cmd).await?;
                    Ok(Health {
                        healthy: out.ok(),
                        why: if out.ok() {
                            String::new()
                        } else {
                            format!(
                                "the check exited {}: {}",
                                out.code.unwrap_or(-1),
                                out.message()
                            )
                        },
                    })
                }
            }
        })
        .await?;
    let healthy = health.healthy;
    let snap = name.as_str();
    let decided: Decision = run
        .step("decide", |ctx| async move {
            if healthy {
                return Ok(Decision::Kept {
                    note: format!("kept {snap} as the way back"),
                });
            }
            Ok(Decision::MergedBack(
                merge_step(ctx, node, volume, snap).await?,
            ))
        })
        .await?;
    let state = match &decided {
        Decision::Kept { .. } => "present",
        Decision::MergedBack(m) => m.outcome.as_str(),
    };
    run.step("record", |_ctx| async {
        set_state(run, node, volume, &name, state).await?;
        Ok(note(state))
    })
    .await?;
    let (vg, _) = split(volume);
    let rollback = match &decided {
        Decision::MergedBack(Merge {
            outcome: MergeState::MergePending,
            ..
        }) => format!(
            "{vg}/{name} will be merged back into {volume}: {MERGE_PENDING}; reboot {node} to complete the rollback"
        ),
        Decision::MergedBack(_) => format!("{volume} was returned to {vg}/{name}"),
        Decision::Kept { .. } => String::new(),
    };
    Ok((
        healthy,
        json!({
            "node": node,
            "snapshot": format!("{vg}/{name}"),
            "healthy": healthy,
            "why": health.why,
            "rollback": rollback,
        }),
    ))
}
