//! LVM steps shared by the LVM workflows, the guarded upgrade and restores
//! that snapshot their target first. Each checks what an earlier,
//! interrupted run already did before acting again.

use serde::{Deserialize, Serialize};

use crate::engine::error::EngineError;
use crate::engine::workflows::{Run, StepCtx};
use crate::lvm::{self, LvKind, MergeOutcome};

/// `VG/LV` as its two parts (the planner checked the form).
pub fn split(volume: &str) -> (String, String) {
    match volume.split_once('/') {
        Some((vg, lv)) => (vg.to_string(), lv.to_string()),
        None => (volume.to_string(), String::new()),
    }
}

/// Read the node's LVs and bring the catalog in line.
pub async fn refresh(run: &Run, node: &str) -> Result<Vec<lvm::Lv>, EngineError> {
    let lvs = run.engine.lvs(node).await?;
    let (n, l) = (node.to_string(), lvs.clone());
    run.engine
        .write(move |tx, inner| Ok(lvm::catalog::sync_node(tx, &inner.cluster, &n, &l)?))
        .await?;
    Ok(lvs)
}

/// What a snapshot step made (or found an earlier run had made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LvSnapshot {
    pub snapshot: String,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub said: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Create the plan's snapshot (unless an earlier run did), as the step of `ctx`.
pub async fn snapshot_step(
    ctx: StepCtx,
    node: &str,
    volume: &str,
    name: &str,
    size: Option<&str>,
) -> Result<LvSnapshot, EngineError> {
    let (vg, lv) = split(volume);
    let lvs = ctx.run.engine.lvs(node).await?;
    if let Some(existing) = lvs.iter().find(|l| l.vg == vg && l.name == name) {
        // Only an earlier run of this very step, begun before the LV
        // appeared, can have made it.
        let ours = existing.origin.as_deref() == Some(lv.as_str())
            && ctx
                .prior_started_at
                .is_some_and(|t| existing.created.is_some_and(|c| c >= t - 5));
        if !ours {
            return Err(EngineError::NotPossible(format!(
                "{vg}/{name} exists on {node} and this action did not make it: plan again for a fresh snapshot"
            )));
        }
        return Ok(LvSnapshot {
            snapshot: format!("{vg}/{name}"),
            size: None,
            said: None,
            note: Some(format!(
                "{vg}/{name} exists already (an earlier run made it)"
            )),
        });
    }
    let cmd = lvm::ops::create(volume, name, size);
    let out = ctx.host(node, &cmd).await?.check(node, &cmd)?;
    Ok(LvSnapshot {
        snapshot: format!("{vg}/{name}"),
        size: size.map(str::to_string),
        said: Some(out.message()),
        note: None,
    })
}

/// What proxdeck made a snapshot for (the catalog's purpose column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LvPurpose {
    Manual,
    Safety,
}

impl LvPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LvPurpose::Manual => "manual",
            LvPurpose::Safety => "safety",
        }
    }
}

/// Record a snapshot proxdeck made in the catalog, with its expiry.
pub async fn record_made(
    run: &Run,
    node: &str,
    volume: &str,
    name: &str,
    description: Option<&str>,
    purpose: LvPurpose,
) -> Result<(), EngineError> {
    refresh(run, node).await?;
    let days = i64::from(run.engine.config().policies.snapshot_retention.max_age_days);
    let (n, v, s, d, id) = (
        node.to_string(),
        volume.to_string(),
        name.to_string(),
        description.map(str::to_string),
        run.id().to_string(),
    );
    run.engine
        .write(move |tx, inner| {
            let expires = crate::store::now() + days * 86_400;
            Ok(lvm::catalog::record_created(
                tx,
                &inner.cluster,
                &n,
                &v,
                &s,
                d.as_deref(),
                purpose.as_str(),
                &id,
                Some(expires),
            )?)
        })
        .await
}

/// Where a merge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeState {
    /// The origin has the snapshot's contents now.
    Merged,
    /// LVM merges at the origin's next activation (the next reboot for root).
    MergePending,
}

impl MergeState {
    /// The catalog's state word.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeState::Merged => "merged",
            MergeState::MergePending => "merge_pending",
        }
    }
}

/// What a merge step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub outcome: MergeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Merge `vg/name` into its origin: merged, or pending while the origin is open.
pub async fn merge_step(
    ctx: StepCtx,
    node: &str,
    volume: &str,
    name: &str,
) -> Result<Merge, EngineError> {
    let (vg, _) = split(volume);
    let lvs = ctx.run.engine.lvs(node).await?;
    let found = |outcome, note: &str| Merge {
        outcome,
        lvm: None,
        note: Some(note.to_string()),
    };
    match lvs.iter().find(|l| l.vg == vg && l.name == name) {
        Some(l) if l.kind() == LvKind::MergingSnapshot => {
            return Ok(found(
                MergeState::MergePending,
                "the merge was already pending",
            ));
        }
        None if ctx.prior_detail.is_some() => {
            return Ok(found(MergeState::Merged, "merged by an earlier run"));
        }
        None => {
            return Err(EngineError::Step(format!(
                "{node} has no snapshot {vg}/{name} any more"
            )));
        }
        Some(_) => {}
    }
    let cmd = lvm::ops::merge(&vg, name);
    let out = ctx.host(node, &cmd).await?;
    match lvm::ops::merge_outcome(&out) {
        Ok(MergeOutcome::Merged) => Ok(Merge {
            outcome: MergeState::Merged,
            lvm: None,
            note: None,
        }),
        Ok(MergeOutcome::Deferred) => Ok(Merge {
            outcome: MergeState::MergePending,
            lvm: Some(out.message()),
            note: None,
        }),
        Err(msg) => Err(EngineError::Step(format!(
            "{node}: lvconvert --merge {vg}/{name}: {msg}"
        ))),
    }
}

/// Record a snapshot's new state in the catalog after reading the node again.
pub async fn set_state(
    run: &Run,
    node: &str,
    volume: &str,
    name: &str,
    state: &str,
) -> Result<(), EngineError> {
    refresh(run, node).await?;
    let (n, v, s, st) = (
        node.to_string(),
        volume.to_string(),
        name.to_string(),
        state.to_string(),
    );
    run.engine
        .write(move |tx, inner| {
            Ok(lvm::catalog::set_state(
                tx,
                &inner.cluster,
                &n,
                &v,
                &s,
                &st,
            )?)
        })
        .await
}
