//! Plans for host-level actions: LVM snapshots (create, merge back, clean up
//! by retention) and the guarded upgrade. Sizes, names and commands are fixed
//! here, shown, and run exactly so.

use std::collections::HashSet;

use rusqlite::Transaction;

use super::action::Action;
use super::error::EngineError;
use super::plan::{Plan, StepList};
use super::planner::PlanContext;
use crate::lvm::{self, Lv, SnapshotSize};
use crate::tui::fmt::bytes;

fn err(m: impl Into<String>) -> EngineError {
    EngineError::Plan(m.into())
}

/// `VG/LV` split, with a clear error.
pub fn split_volume(v: &str) -> Result<(String, String), EngineError> {
    let v = v.trim_start_matches("/dev/").trim_start_matches("mapper/");
    match v.split_once('/') {
        Some((vg, lv)) if !vg.is_empty() && !lv.is_empty() && !lv.contains('/') => {
            Ok((vg.into(), lv.into()))
        }
        _ => Err(err(format!(
            "'{v}' is not a volume: write it as VG/LV, e.g. pve/root"
        ))),
    }
}

fn find_origin<'a>(lvs: &'a [Lv], node: &str, vg: &str, lv: &str) -> Result<&'a Lv, EngineError> {
    let o = lvs
        .iter()
        .find(|l| l.vg == vg && l.name == lv)
        .ok_or_else(|| {
            err(format!(
                "{node} has no logical volume {vg}/{lv} (it has: {})",
                lvs.iter()
                    .filter(|l| !l.is_snapshot())
                    .map(Lv::path)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    if o.is_snapshot() {
        return Err(err(format!("{vg}/{lv} is itself a snapshot")));
    }
    Ok(o)
}

/// The name and `-L` size of a new snapshot of `origin`.
fn new_snapshot(
    ctx: &PlanContext<'_>,
    lvs: &[Lv],
    origin: &Lv,
    name: Option<&str>,
    size: Option<&str>,
) -> Result<(String, String), EngineError> {
    let ops = &ctx.config.policies.ops.lvm;
    let taken = |n: &str| lvs.iter().any(|l| l.vg == origin.vg && l.name == n);
    let name = match name {
        Some(n) => {
            if taken(n) {
                return Err(err(format!(
                    "Logical Volume \"{n}\" already exists in volume group \"{}\"",
                    origin.vg
                )));
            }
            n.to_string()
        }
        None => {
            let base = lvm::ops::snapshot_name(&ops.name_pattern, crate::store::now());
            let mut n = base.clone();
            let mut i = 2;
            while taken(&n) {
                n = format!("{base}-{i}");
                i += 1;
            }
            n
        }
    };
    if !lvm::ops::valid_name(&name) {
        return Err(err(format!(
            "'{name}' is not a name LVM accepts (letters, digits, + _ . -; not starting with '-' or 'snapshot')"
        )));
    }
    let size_text = size.unwrap_or(&ops.snapshot_size);
    let size = SnapshotSize::parse(size_text)
        .ok_or_else(|| {
            err(format!(
                "'{size_text}' is not a snapshot size (20% of the origin, or 8G)"
            ))
        })?
        .lvcreate_size(origin.size_bytes.unwrap_or(0));
    Ok((name, size))
}

fn show_size(s: &str) -> String {
    match s.strip_suffix('b').and_then(|n| n.parse::<u64>().ok()) {
        Some(b) => bytes(b),
        None => s.to_string(),
    }
}

pub fn plan(
    tx: &Transaction<'_>,
    ctx: &PlanContext<'_>,
    action: &Action,
    action_id: &str,
) -> Result<Plan, EngineError> {
    let retention = ctx.config.policies.snapshot_retention;
    match action {
        Action::CreateLvmSnapshot {
            node,
            volume,
            name,
            size,
            description,
        } => {
            let node = ctx.pve_node(node)?;
            let volume = volume
                .clone()
                .unwrap_or_else(|| ctx.config.policies.ops.lvm.default_volume.clone());
            let (vg, lv) = split_volume(&volume)?;
            let lvs = ctx.facts.lvs_of(&node);
            let origin = find_origin(lvs, &node, &vg, &lv)?;
            let (name, size) = new_snapshot(ctx, lvs, origin, name.as_deref(), size.as_deref())?;
            let mut p = Plan::new(format!(
                "LVM snapshot of {vg}/{lv} on {node} as {name} ({} copy-on-write space)",
                show_size(&size)
            ));
            let mut steps = StepList::default();
            steps.add(
                "lvm-snapshot",
                None,
                format!(
                    "lvcreate -s -L {size} -n {name} {vg}/{lv}{}",
                    description
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            );
            steps.add(
                "record",
                None,
                format!(
                    "add it to the snapshot catalog; retention removes it after {} days",
                    retention.max_age_days
                ),
            );
            p.steps = steps.into_steps();
            p.snapshot = Some(name.clone());
            p.params.insert("node".into(), node);
            p.params.insert("volume".into(), format!("{vg}/{lv}"));
            p.params.insert("size".into(), size);
            let _ = (tx, action_id);
            Ok(p)
        }
        Action::RestoreLvmSnapshot { node, volume, name } => {
            let node = ctx.pve_node(node)?;
            let (vg, lv) = split_volume(volume)?;
            let lvs = ctx.facts.lvs_of(&node);
            let snap = lvs
                .iter()
                .find(|l| l.vg == vg && l.name == *name && l.is_snapshot())
                .ok_or_else(|| err(format!("{node} has no snapshot {vg}/{name}")))?;
            if snap.origin.as_deref() != Some(lv.as_str()) {
                return Err(err(format!(
                    "{vg}/{name} is a snapshot of {vg}/{}, not of {vg}/{lv}",
                    snap.origin.clone().unwrap_or_default()
                )));
            }
            if snap.is_invalid() {
                return Err(err(format!(
                    "{vg}/{name} overflowed and LVM invalidated it: it cannot be merged (Unable to merge invalidated snapshot LV)"
                )));
            }
            if snap.kind() == lvm::LvKind::MergingSnapshot {
                return Err(err(format!(
                    "a merge of {vg}/{name} is already pending until the next activation of {vg}/{lv}"
                )));
            }
            let origin_open = lvs
                .iter()
                .any(|l| l.vg == vg && l.name == lv && l.is_open());
            let mut p = Plan::new(format!(
                "Merge LVM snapshot {vg}/{name} back into {vg}/{lv} on {node}"
            ));
            let mut steps = StepList::default();
            steps.add("merge", None, format!("lvconvert --merge -i 1 {vg}/{name}: {vg}/{lv} returns to the snapshot's contents"));
            steps.add(
                "record",
                None,
                "record the merge (done, or pending until the next activation)",
            );
            p.steps = steps.into_steps();
            p.snapshot = Some(name.clone());
            if origin_open {
                p.notes.push(format!("{vg}/{lv} is in use: LVM merges at its next activation, which for the root volume is the next reboot"));
            }
            p.params.insert("node".into(), node);
            p.params.insert("volume".into(), format!("{vg}/{lv}"));
            Ok(p)
        }
        Action::CleanupLvmSnapshots { node } => {
            let mut p = Plan::new(match node {
                Some(n) => format!("Remove expired LVM snapshots on {n}"),
                None => "Remove expired LVM snapshots".to_string(),
            });
            for (n, lvs) in &ctx.facts.lvs {
                lvm::catalog::sync_node(tx, ctx.cluster, n, lvs)?;
            }
            let known: Vec<_> = lvm::catalog::known(tx, ctx.cluster)?
                .into_iter()
                .filter(|k| ctx.facts.lvs.contains_key(&k.node))
                .collect();
            let guarding: HashSet<String> = {
                let mut st = tx.prepare("SELECT id FROM actions WHERE cluster = ?1 AND state IN ('running', 'failed', 'rolled_back', 'approved')")?;
                st.query_map([ctx.cluster], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            let expired = lvm::retention::expired(
                &known,
                crate::store::now(),
                retention.max_age_days,
                retention.max_snapshots_per_volume,
                &guarding,
            );
            if expired.is_empty() {
                return Err(err(format!(
                    "no LVM snapshot has expired (retention: {} days, at most {} per volume; only snapshots proxdeck made)",
                    retention.max_age_days, retention.max_snapshots_per_volume
                )));
            }
            let mut steps = StepList::default();
            for (i, e) in expired.iter().enumerate() {
                let (vg, _) = split_volume(&e.volume)?;
                steps.add(
                    &format!("remove-{}", i + 1),
                    Some(&e.node),
                    format!("lvremove -y {vg}/{} ({})", e.name, e.reason),
                );
                p.params.insert(
                    format!("remove.{}", i + 1),
                    format!("{}|{}|{}", e.node, e.volume, e.name),
                );
            }
            steps.add("record", None, "refresh the catalog");
            p.steps = steps.into_steps();
            Ok(p)
        }
        Action::GuardedHostUpgrade { node, command } => {
            let node = ctx.pve_node(node)?;
            let ops = &ctx.config.policies.ops;
            let (vg, lv) = split_volume(&ops.lvm.default_volume)?;
            let lvs = ctx.facts.lvs_of(&node);
            let origin = find_origin(lvs, &node, &vg, &lv)?;
            let (name, size) = new_snapshot(ctx, lvs, origin, None, None)?;
            let command = command
                .clone()
                .unwrap_or_else(|| ops.upgrade.command.clone());
            let mut p = Plan::new(format!("Upgrade {node} behind LVM snapshot {vg}/{name}"));
            let mut steps = StepList::default();
            steps.add(
                "lvm-snapshot",
                None,
                format!(
                    "lvcreate -s -L {size} -n {name} {vg}/{lv} ({} copy-on-write space)",
                    show_size(&size)
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
            p.safety_snapshot = Some(name.clone());
            p.params.insert("node".into(), node);
            p.params.insert("volume".into(), format!("{vg}/{lv}"));
            p.params.insert("size".into(), size);
            p.params.insert("command".into(), command);
            if let Some(c) = &ops.upgrade.check_command {
                p.params.insert("check".into(), c.clone());
            }
            p.params
                .insert("timeout_secs".into(), ops.upgrade.timeout_secs.to_string());
            Ok(p)
        }
        _ => Err(err("not a host action")),
    }
}
