//! Planning LVM snapshots: volumes written `VG/LV`, the origin found among
//! the node's LVs, a free snapshot name from the policy's pattern and the
//! copy-on-write size fixed (and shown) before anything runs.

use crate::engine::error::EngineError;
use crate::engine::plan::PlanContext;
use crate::lvm::{self, Lv, LvKind, SnapshotSize};
use crate::units::bytes;

/// `VG/LV` split, with a clear error.
pub fn split_volume(v: &str) -> Result<(String, String), EngineError> {
    let v = v.trim_start_matches("/dev/").trim_start_matches("mapper/");
    match v.split_once('/') {
        Some((vg, lv)) if !vg.is_empty() && !lv.is_empty() && !lv.contains('/') => {
            Ok((vg.into(), lv.into()))
        }
        _ => Err(EngineError::Invalid(format!(
            "'{v}' is not a volume: write it as VG/LV, e.g. pve/root"
        ))),
    }
}

pub fn find_origin<'a>(
    lvs: &'a [Lv],
    node: &str,
    vg: &str,
    lv: &str,
) -> Result<&'a Lv, EngineError> {
    let o = lvs
        .iter()
        .find(|l| l.vg == vg && l.name == lv)
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "{node} has no logical volume {vg}/{lv} (it has: {})",
                lvs.iter()
                    .filter(|l| !l.is_snapshot())
                    .map(Lv::path)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    if o.is_snapshot() {
        return Err(EngineError::Invalid(format!(
            "{vg}/{lv} is itself a snapshot"
        )));
    }
    // LVM's own refusals (lvm2 snapshot_manip.c), in its words, before anything runs.
    match o.kind() {
        LvKind::ThinPool => Err(EngineError::NotPossible(format!(
            "{vg}/{lv}: Snapshots of thin pool type volumes are not supported. Snapshot a volume in the pool instead"
        ))),
        LvKind::MergingOrigin => Err(EngineError::NotPossible(format!(
            "{vg}/{lv}: Snapshots of an origin that has a merging snapshot are not supported. The merge completes when {vg}/{lv} is next activated (for the root volume: the next reboot)"
        ))),
        _ => Ok(o),
    }
}

/// The name and `-L` size of a new snapshot of `origin` (no size for a thin
/// volume: its snapshot is thin, in the pool). A name is free when no LV
/// has it and no open action's plan holds it on this node (`tx`).
pub fn new_snapshot(
    tx: &rusqlite::Transaction<'_>,
    ctx: &PlanContext<'_>,
    node: &str,
    lvs: &[Lv],
    origin: &Lv,
    name: Option<&str>,
    size: Option<&str>,
) -> Result<(String, Option<String>), EngineError> {
    let ops = &ctx.config.policies.ops.lvm;
    let held = crate::engine::queue::snapshot_names_held(tx, ctx.cluster, None)?;
    let taken = |n: &str| {
        lvs.iter().any(|l| l.vg == origin.vg && l.name == n)
            || held.contains(&(node.to_string(), n.to_string()))
    };
    let name = match name {
        Some(n) => {
            if taken(n) {
                return Err(EngineError::Invalid(format!(
                    "Logical Volume \"{n}\" already exists in volume group \"{}\" (or another action plans it)",
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
        return Err(EngineError::Invalid(format!(
            "'{name}' is not a name LVM accepts (letters, digits, + _ . -; not starting with '-' or 'snapshot')"
        )));
    }
    if origin.is_thin_volume() {
        if size.is_some() {
            return Err(EngineError::Invalid(format!(
                "{} is a thin volume: its snapshot is thin and takes no size (a size would make a thick snapshot in the volume group's free space)",
                origin.path()
            )));
        }
        return Ok((name, None));
    }
    let size_text = size.unwrap_or(&ops.snapshot_size);
    let size = SnapshotSize::parse(size_text)
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "'{size_text}' is not a snapshot size (20% of the origin, or 8G)"
            ))
        })?
        .lvcreate_size(origin.size_bytes.unwrap_or(0));
    Ok((name, Some(size)))
}

/// The `lvcreate` a plan shows.
pub fn lvcreate_line(vg: &str, lv: &str, name: &str, size: Option<&str>) -> String {
    match size {
        Some(s) => format!("lvcreate -s -L {s} -n {name} {vg}/{lv}"),
        None => format!("lvcreate -s -n {name} {vg}/{lv}"),
    }
}

/// The space a snapshot takes, in words.
pub fn space_phrase(size: Option<&str>) -> String {
    match size {
        Some(s) => format!("{} copy-on-write space", show_size(s)),
        None => "thin, from the pool".into(),
    }
}

pub fn show_size(s: &str) -> String {
    match s.strip_suffix('b').and_then(|n| n.parse::<u64>().ok()) {
        Some(b) => bytes(b),
        None => s.to_string(),
    }
}
