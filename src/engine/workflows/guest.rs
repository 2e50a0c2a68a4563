//! Guest snapshots (create, rollback with a safety snapshot first, delete by
//! retention) and guest deletion.

use serde_json::{Value, json};

use super::{Outcome, Run, failed, note};
use crate::engine::action::GuestSel;
use crate::engine::catalog::{self, Purpose};
use crate::engine::error::EngineError;
use crate::pve::requests::{DestroyOptions, Power, SnapshotOptions};
use crate::pve::{GuestKind, GuestRef};

fn gref(g: &GuestSel) -> GuestRef {
    GuestRef::new(&g.node, g.kind, g.vmid)
}

/// Take a snapshot unless it exists already (an earlier run made it).
async fn take(
    run: &Run,
    key: &str,
    g: &GuestSel,
    name: &str,
    description: Option<&str>,
    vmstate: bool,
    purpose: Purpose,
) -> Result<Value, EngineError> {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    let out = run
        .step(key, |ctx| async move {
            if ctx.prior_upid.is_none() && c.snapshots(r).await?.iter().any(|s| s.name == name) {
                return Ok(note(format!("snapshot {name} exists already")));
            }
            let opts = SnapshotOptions {
                snapname: name.to_string(),
                description: description.map(str::to_string),
                vmstate: (g.kind == GuestKind::Qemu && vmstate).then_some(true),
            };
            let done = ctx.task(|| c.create_snapshot(r, &opts)).await?;
            Ok(json!({"snapshot": name, "exitstatus": done.exitstatus}))
        })
        .await?;
    let (g2, n, d, id) = (
        g.clone(),
        name.to_string(),
        description.map(str::to_string),
        run.id().to_string(),
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

/// Refresh the catalog rows of one guest from Proxmox.
async fn record(run: &Run, g: &GuestSel) -> Result<Value, EngineError> {
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
        Ok(json!({"snapshots": n.saturating_sub(1)}))
    })
    .await
}

pub async fn snapshot(
    run: &Run,
    g: &GuestSel,
    description: Option<&str>,
    vmstate: bool,
) -> Outcome {
    let name = run.plan.snapshot.clone().unwrap_or_default();
    let result = async {
        take(
            run,
            "snapshot",
            g,
            &name,
            description,
            vmstate,
            if run.rec.proposed_by.who.starts_with("policy:schedule:") {
                Purpose::Scheduled
            } else {
                Purpose::Manual
            },
        )
        .await?;
        record(run, g).await
    }
    .await;
    match result {
        Ok(_) => Outcome::Succeeded(json!({"guest": g.vmid, "snapshot": name})),
        Err(e) => failed(&e, json!({"guest": g.vmid})),
    }
}

pub async fn rollback(run: &Run, g: &GuestSel, snapshot: &str, start: bool) -> Outcome {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    let safety = run.plan.safety_snapshot.clone();
    if let Some(s) = &safety {
        let desc = format!(
            "safety snapshot before rolling back to {snapshot} (proxdeck {})",
            run.id()
        );
        if let Err(e) = take(
            run,
            "safety-snapshot",
            g,
            s,
            Some(&desc),
            false,
            Purpose::Safety,
        )
        .await
        {
            return failed(&e, json!({"guest": g.vmid}));
        }
    }
    let done = run
        .step("rollback", |ctx| async move {
            let out = ctx
                .task(|| c.rollback(r, snapshot, start.then_some(true)))
                .await?;
            Ok(json!({"exitstatus": out.exitstatus}))
        })
        .await;
    match done {
        Ok(_) => match record(run, g).await {
            Ok(_) => Outcome::Succeeded(
                json!({"guest": g.vmid, "rolled_back_to": snapshot, "safety_snapshot": safety}),
            ),
            Err(e) => failed(&e, json!({"guest": g.vmid})),
        },
        Err(e) => {
            let rollback_on_failure = run
                .engine
                .config()
                .policies
                .safety_snapshots
                .rollback_on_failure;
            match (&safety, rollback_on_failure) {
                (Some(s), true) if !matches!(e, EngineError::Cancelled) => {
                    // Back to where the guest was before this action.
                    let back = async {
                        let up = c.rollback(r, s, None).await?;
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
                            &EngineError::Plan(format!("{e}; rolling back to {s} failed too: {b}")),
                            json!({"guest": g.vmid}),
                        ),
                    }
                }
                _ => failed(&e, json!({"guest": g.vmid})),
            }
        }
    }
}

pub async fn delete_snapshot(run: &Run, g: &GuestSel, snapshot: &str) -> Outcome {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    let result = async {
        run.step("delete-snapshot", |ctx| async move {
            if ctx.prior_upid.is_none() && !c.snapshots(r).await?.iter().any(|s| s.name == snapshot)
            {
                return Ok(note("already gone"));
            }
            ctx.task(|| c.delete_snapshot(r, snapshot)).await?;
            Ok(Value::Null)
        })
        .await?;
        record(run, g).await
    }
    .await;
    match result {
        Ok(_) => Outcome::Succeeded(json!({"guest": g.vmid, "deleted": snapshot})),
        Err(e) => failed(&e, json!({"guest": g.vmid})),
    }
}

pub async fn delete(run: &Run, g: &GuestSel) -> Outcome {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    let result = run
        .step("delete", |ctx| async move {
            if ctx.prior_upid.is_none() {
                if run.locate(g.vmid).await?.is_none() {
                    return Ok(note("already gone"));
                }
                if c.guest_status(r).await?.status == "running" {
                    let up = c.power(r, Power::Stop).await?;
                    c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
                }
            }
            ctx.task(|| {
                c.destroy_guest(
                    r,
                    &DestroyOptions {
                        purge: Some(true),
                        destroy_unreferenced_disks: Some(true),
                    },
                )
            })
            .await?;
            Ok(Value::Null)
        })
        .await;
    match result {
        Ok(_) => Outcome::Succeeded(json!({"deleted": g.vmid})),
        Err(e) => failed(&e, json!({"guest": g.vmid})),
    }
}
