//! Guest snapshots taken by workflows (a requested one, or the safety
//! snapshot before a risky change) and the way back to a safety snapshot
//! when the change fails.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::guest::gref;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::snapshot_catalog::{self as catalog, Purpose};
use crate::engine::workflows::{Outcome, Run, failed};
use crate::pve::GuestKind;
use crate::pve::requests::SnapshotOptions;

/// What a snapshot step made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Taken {
    #[serde(default)]
    pub snapshot: Option<String>,
    #[serde(default)]
    pub exitstatus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A guest snapshot to take.
pub struct SnapshotSpec<'a> {
    pub guest: &'a GuestSel,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub vmstate: bool,
    pub purpose: Purpose,
}

/// Take a snapshot as step `key` (unless an earlier run of this step made
/// it) and record it in the catalog as made by this action.
pub async fn take_snapshot(
    run: &Run,
    key: &str,
    spec: SnapshotSpec<'_>,
) -> Result<Taken, EngineError> {
    let c = run.client();
    let g = spec.guest;
    let r = gref(g);
    let r = &r;
    let (name, description, vmstate) = (spec.name, spec.description, spec.vmstate);
    let out = run
        .step(key, |ctx| async move {
            if ctx.prior_upid.is_none()
                && let Some(s) = c.snapshots(r).await?.into_iter().find(|s| s.name == name)
            {
                // Only this step, begun before the snapshot appeared, can
                // have made it; anything else has taken the name.
                let ours = ctx
                    .prior_started_at
                    .is_some_and(|t| s.snaptime.is_some_and(|st| st >= t - 5));
                if !ours {
                    return Err(EngineError::NotPossible(format!(
                        "{} already has a snapshot named {name} that this action did not take",
                        g.name
                    )));
                }
                return Ok(Taken {
                    snapshot: Some(name.to_string()),
                    exitstatus: None,
                    note: Some(format!(
                        "snapshot {name} was taken by an earlier run of this step"
                    )),
                });
            }
            let opts = SnapshotOptions {
                snapname: name.to_string(),
                description: description.map(str::to_string),
                vmstate: (g.kind == GuestKind::Qemu && vmstate).then_some(true),
            };
            let done = ctx.task(|| c.create_snapshot(r, &opts)).await?;
            Ok(Taken {
                snapshot: Some(name.to_string()),
                exitstatus: Some(done.exitstatus),
                note: None,
            })
        })
        .await?;
    let (g2, n, d, id, purpose) = (
        g.clone(),
        name.to_string(),
        description.map(str::to_string),
        run.id().to_string(),
        spec.purpose,
    );
    run.engine
        .write(move |tx, inner| {
            catalog::record_created(
                tx,
                &inner.cluster,
                &catalog::Made {
                    node: &g2.node,
                    vmid: g2.vmid,
                    name: &n,
                    description: d.as_deref(),
                    purpose,
                    action_id: &id,
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(out)
}

/// How many snapshots a catalog refresh found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalogued {
    pub snapshots: usize,
}

/// Refresh the catalog rows of one guest from Proxmox, as step `record`.
pub async fn record_snapshots(run: &Run, g: &GuestSel) -> Result<Catalogued, EngineError> {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    run.step("record", |_ctx| async move {
        let list = c.snapshots(r).await?;
        let (g2, n) = (g.clone(), list.len());
        run.engine
            .write(move |tx, inner| {
                catalog::sync_guest(tx, &inner.cluster, &g2.node, g2.vmid, &list)?;
                Ok(())
            })
            .await?;
        Ok(Catalogued {
            snapshots: n.saturating_sub(1),
        })
    })
    .await
}

/// A change failed after a safety snapshot: roll back to it when policy says
/// so (not on cancel), and say what happened.
pub async fn back_to_safety(
    run: &Run,
    g: &GuestSel,
    safety: Option<&str>,
    e: EngineError,
    result: Value,
) -> Outcome {
    let rollback_on_failure = run
        .engine
        .config()
        .policies
        .safety_snapshots
        .rollback_on_failure;
    let Some(s) = safety.filter(|_| rollback_on_failure && !matches!(e, EngineError::Cancelled))
    else {
        return failed(&e, result);
    };
    let c = run.client();
    let r = gref(g);
    let back = async {
        // A snapshot without RAM comes back stopped: a guest that ran before
        // is started again.
        let was_running = c.guest_status(&r).await?.status == "running";
        let up = c.rollback(&r, s, was_running.then_some(true)).await?;
        c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
        Ok::<_, EngineError>(())
    }
    .await;
    match back {
        Ok(()) => Outcome::RolledBack {
            error: format!("{e}; rolled back to the safety snapshot {s}"),
            result: json!({"guest": g.vmid, "safety_snapshot": s}),
        },
        Err(b) => failed(
            &EngineError::Step(format!("{e}; rolling back to {s} failed too: {b}")),
            result,
        ),
    }
}
