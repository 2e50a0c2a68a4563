//! Guests a workflow makes: waiting for Proxmox's lock to clear, and the one
//! undo of a half-made guest (stopped, destroyed, its identities given back).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::TargetPlan;
use crate::engine::workflows::Run;
use crate::ipam::alloc::Ipam;
use crate::pve::requests::{DestroyOptions, Power};
use crate::pve::{GuestKind, GuestRef};

/// The guest a selection names, as a Proxmox reference.
pub fn gref(g: &GuestSel) -> GuestRef {
    GuestRef::new(&g.node, g.kind, g.vmid)
}

/// What the step that makes a new guest found before it began: whether the
/// VMID was free then (so a guest with it later is ours to remove on failure).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Made {
    pub vmid_was_free: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Before a step makes a guest: whether its VMID is still free (then a
/// guest with it later is this run's), or already holds the guest an
/// earlier run made (same name); anything else took it meanwhile.
pub async fn claim_vmid(run: &Run, t: &TargetPlan) -> Result<Made, EngineError> {
    match run.locate(t.vmid).await? {
        None => Ok(Made {
            vmid_was_free: true,
            note: None,
        }),
        Some(r) if r.name.as_deref() == Some(&t.name) => Ok(Made {
            vmid_was_free: true,
            note: Some("already created by an earlier run".into()),
        }),
        Some(r) => Err(EngineError::Step(format!(
            "VMID {} was taken meanwhile by {} on {}",
            t.vmid,
            r.name.unwrap_or_default(),
            r.node.unwrap_or_default()
        ))),
    }
}

/// Wait until a guest's config lock clears (a task of an earlier run still working).
pub async fn wait_unlocked(run: &Run, vmid: u32) -> Result<(), EngineError> {
    for _ in 0..600 {
        match run.locate(vmid).await? {
            Some(r) if r.lock.is_some() => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => return Ok(()),
        }
    }
    Err(EngineError::Step(format!("guest {vmid} stayed locked")))
}

/// Remove the guest a failed step made (stopped first if it runs), wherever it
/// is now; the node it was on, or None when it is already gone.
pub async fn destroy_made_guest(
    run: &Run,
    kind: GuestKind,
    t: &TargetPlan,
) -> Result<Option<String>, EngineError> {
    let Some(r) = run.locate(t.vmid).await? else {
        return Ok(None);
    };
    let c = run.client();
    // A failing task releases its lock as it ends; give it a moment.
    let _ = wait_unlocked(run, t.vmid).await;
    let node = r.node.clone().unwrap_or_else(|| t.node.clone());
    let g = GuestRef::new(&node, kind, t.vmid);
    if r.status.as_deref() == Some("running")
        && let Ok(up) = c.power(&g, Power::Stop).await
    {
        let _ = c.wait_task(&up, &run.engine.options().wait, |_| {}).await;
    }
    let up = c
        .destroy_guest(
            &g,
            &DestroyOptions {
                purge: Some(true),
                destroy_unreferenced_disks: Some(true),
            },
        )
        .await?;
    c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
    Ok(Some(node))
}

/// Give back the identities one target held (its address and name), audited.
pub async fn release_target(run: &Run, t: &TargetPlan) -> Result<(), EngineError> {
    let (t2, id) = (t.clone(), run.id().to_string());
    run.engine
        .write(move |tx, inner| {
            if let Some(a) = t2.ip_allocation {
                Ipam::new(&inner.cluster, &inner.config.naming).release(tx, a)?;
            }
            if let Some(n) = t2.name_reservation {
                crate::naming::reserve::release(tx, n)?;
            }
            crate::engine::audit::append(
                tx,
                &inner.owner,
                "target_cleaned_up",
                Some(&id),
                &json!({"node": t2.node, "vmid": t2.vmid}),
            )?;
            Ok(())
        })
        .await
}

/// Undo a failed target: remove the guest this run made (when the step that
/// makes it recorded that the VMID was free), give back its identities; says
/// what was done.
pub async fn undo_target(
    run: &Run,
    kind: GuestKind,
    t: &TargetPlan,
    making_step: &str,
) -> Result<String, EngineError> {
    let mut what = Vec::new();
    let made: Option<Made> = run.detail_of(making_step).await?;
    if made.is_some_and(|m| m.vmid_was_free)
        && let Some(node) = destroy_made_guest(run, kind, t).await?
    {
        what.push(format!(
            "removed the half-made guest {} from {node}",
            t.vmid
        ));
    }
    release_target(run, t).await?;
    what.push("released its name, address and MAC".into());
    Ok(what.join("; "))
}
