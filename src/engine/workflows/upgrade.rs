//! The guarded host upgrade: LVM snapshot of the root volume, the upgrade
//! (its output streamed into the journal), a health check, then either keep
//! the snapshot (passed) or merge it back (failed; with the root volume in
//! use that happens at the next reboot, and the outcome says so).

use std::time::Duration;

use serde_json::{Value, json};

use super::lvm::{MERGE_PENDING, merge_step, param, record_made, refresh, snapshot_step, split};
use super::{Outcome, Run, failed, note};
use crate::engine::error::EngineError;
use crate::host::HostCommand;

pub async fn run(run: &Run) -> Outcome {
    let node = run.plan.param("node").unwrap_or_default().to_string();
    let result = steps(run).await;
    match result {
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
}

async fn steps(run: &Run) -> Result<(bool, Value), EngineError> {
    let node = param(run, "node")?;
    let volume = param(run, "volume")?;
    let size = param(run, "size")?;
    let command = param(run, "command")?;
    let timeout = Duration::from_secs(param(run, "timeout_secs")?.parse().unwrap_or(3600));
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
        "safety",
    )
    .await?;
    let up = run
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
            Ok(json!({"exit": out.code, "message": out.message()}))
        })
        .await?;
    let health = run
        .step("health-check", |ctx| async move {
            if up["exit"] != 0 {
                return Ok(json!({"healthy": false, "why": format!("the upgrade exited {}: {}", up["exit"], up["message"].as_str().unwrap_or(""))}));
            }
            match run.plan.param("check") {
                None => Ok(json!({"healthy": true})),
                Some(check) => {
                    let cmd = HostCommand::new("bash").args(["-c", check]).timeout(Duration::from_secs(600));
                    let out = ctx.host(node, &cmd).await?;
                    Ok(json!({"healthy": out.ok(), "why": if out.ok() { String::new() } else { format!("the check exited {}: {}", out.code.unwrap_or(-1), out.message()) }}))
                }
            }
        })
        .await?;
    let healthy = health["healthy"] == true;
    let snap = name.as_str();
    let decided = run
        .step("decide", |ctx| async move {
            if healthy {
                return Ok(note(format!("kept {snap} as the way back")));
            }
            merge_step(ctx, node, volume, snap).await
        })
        .await?;
    let state = match (healthy, decided["outcome"].as_str()) {
        (true, _) => "present",
        (false, Some("merge_pending")) => "merge_pending",
        (false, _) => "merged",
    };
    run.step("record", |_ctx| async {
        refresh(run, node).await?;
        let (n, v, s, st) = (
            node.to_string(),
            volume.to_string(),
            name.clone(),
            state.to_string(),
        );
        run.engine
            .write(move |tx, inner| {
                Ok(crate::lvm::catalog::set_state(
                    tx,
                    &inner.cluster,
                    &n,
                    &v,
                    &s,
                    &st,
                )?)
            })
            .await?;
        Ok(json!({"snapshot": state}))
    })
    .await?;
    let (vg, _) = split(volume);
    let rollback = match state {
        "merge_pending" => format!(
            "{vg}/{name} will be merged back into {volume}: {MERGE_PENDING}; reboot {node} to complete the rollback"
        ),
        "merged" => format!("{volume} was returned to {vg}/{name}"),
        _ => String::new(),
    };
    Ok((
        healthy,
        json!({
            "node": node,
            "snapshot": format!("{vg}/{name}"),
            "healthy": healthy,
            "why": health["why"],
            "rollback": rollback,
        }),
    ))
}
