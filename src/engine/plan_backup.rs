//! Plans for backups: create (then verify, sync and prune), verify, sync,
//! prune (every archive shown as kept by a rule or removed), and restore as
//! a new guest with a clean identity.

use rusqlite::Transaction;

use super::action::{Action, short_volid};
use super::error::EngineError;
use super::facts::storage_of;
use super::plan::{Plan, StepList};
use super::planner::{PlanContext, Wish};
use crate::backup::archive;
use crate::backup::prune::{self, Candidate, Mark};
use crate::config::operations::KeepRules;
use crate::naming::Convention;
use crate::pve::GuestKind;
use crate::pve::types::StorageContent;

fn err(m: impl Into<String>) -> EngineError {
    EngineError::Plan(m.into())
}

/// Proxmox's spelling of the rules (`keep-last=3, keep-daily=7`).
pub fn describe_keep(k: &KeepRules) -> String {
    let parts: Vec<String> = [
        ("keep-last", k.last),
        ("keep-hourly", k.hourly),
        ("keep-daily", k.daily),
        ("keep-weekly", k.weekly),
        ("keep-monthly", k.monthly),
        ("keep-yearly", k.yearly),
    ]
    .iter()
    .filter(|(_, v)| *v > 0)
    .map(|(n, v)| format!("{n}={v}"))
    .collect();
    if parts.is_empty() {
        "keep-all".into()
    } else {
        parts.join(", ")
    }
}

/// Decide a guest's backups on a storage (newest first).
pub fn prune_marks(
    list: &[StorageContent],
    vmid: u32,
    keep: &KeepRules,
) -> Vec<(StorageContent, Mark)> {
    let mine: Vec<&StorageContent> = list.iter().filter(|c| c.vmid == Some(vmid)).collect();
    let candidates: Vec<Candidate> = mine
        .iter()
        .map(|c| Candidate {
            id: c.volid.clone(),
            ctime: c.ctime.unwrap_or(0),
            protected: c.protected,
        })
        .collect();
    prune::mark(&candidates, keep)
        .into_iter()
        .filter_map(|(c, m)| {
            mine.iter()
                .find(|x| x.volid == c.id)
                .map(|x| ((*x).clone(), m))
        })
        .collect()
}

fn find<'a>(
    list: &'a [StorageContent],
    volid: &str,
    node: &str,
) -> Result<&'a StorageContent, EngineError> {
    list.iter().find(|c| c.volid == volid).ok_or_else(|| {
        err(format!(
            "no backup {volid} on storage {} (as {node} lists it)",
            storage_of(volid)
        ))
    })
}

fn storage_on<'a>(
    ctx: &'a PlanContext<'_>,
    node: &str,
    storage: &str,
) -> Option<&'a crate::inventory::StorageEntry> {
    ctx.inventory
        .storages
        .iter()
        .find(|s| s.node == node && s.storage == storage)
}

pub fn plan(
    tx: &Transaction<'_>,
    ctx: &PlanContext<'_>,
    action: &Action,
    action_id: &str,
) -> Result<Plan, EngineError> {
    let ops = &ctx.config.policies.ops;
    match action {
        Action::CreateBackup {
            guest,
            storage,
            mode,
            compress,
            notes,
            verify,
            sync,
            prune,
        } => {
            let g = ctx.guest(guest)?;
            let st = storage_on(ctx, &g.node, storage)
                .ok_or_else(|| err(format!("{} has no storage {storage}", g.node)))?;
            if !st.content.iter().any(|c| c == "backup") {
                return Err(err(format!(
                    "storage {storage} does not take backups (its content is {})",
                    st.content.join(",")
                )));
            }
            if !["snapshot", "suspend", "stop"].contains(&mode.as_str()) {
                return Err(err(format!(
                    "'{mode}' is not a backup mode (snapshot, suspend, stop)"
                )));
            }
            if !["zstd", "gzip", "lzo", "0"].contains(&compress.as_str()) {
                return Err(err(format!(
                    "'{compress}' is not a compression (zstd, gzip, lzo, 0)"
                )));
            }
            let mut p = Plan::new(format!(
                "Back up {} ({} {} on {}) to {storage}, mode {mode}, {}",
                g.name,
                g.kind.noun(),
                g.vmid,
                g.node,
                if compress == "0" {
                    "uncompressed".to_string()
                } else {
                    compress.clone()
                }
            ));
            let mut steps = StepList::default();
            steps.add(
                "backup",
                None,
                format!(
                    "vzdump {} --storage {storage} --mode {mode} --compress {compress}{}",
                    g.vmid,
                    notes
                        .as_ref()
                        .map(|n| format!(" (notes: {n})"))
                        .unwrap_or_default()
                ),
            );
            steps.add(
                "catalog",
                None,
                "record the new archive in the backup catalog",
            );
            if mode == "stop" && g.is_running() {
                p.notes.push(format!(
                    "{} is running: mode stop shuts it down for the backup and starts it again",
                    g.name
                ));
            }
            if *verify {
                steps.add(
                    "verify",
                    None,
                    format!(
                        "check the archive on {} (compression test, full read, SHA-256)",
                        g.node
                    ),
                );
            }
            if *sync {
                let t = ops.backup_sync.as_ref().ok_or_else(|| {
                    err("sync was asked for, but backup_sync is not set in action-policies.yml")
                })?;
                if t.storage == *storage {
                    return Err(err(format!("backup_sync points at {storage} itself")));
                }
                steps.add(
                    "sync",
                    None,
                    format!(
                        "copy the archive to {} on {} and compare SHA-256 on both sides",
                        t.storage, t.node
                    ),
                );
                p.params.insert("sync.node".into(), t.node.clone());
                p.params.insert("sync.storage".into(), t.storage.clone());
            }
            if *prune {
                steps.add(
                    "prune",
                    None,
                    format!(
                        "apply retention ({}) to {}'s backups on {storage}; protected ones stay",
                        describe_keep(&ops.backup_retention),
                        g.name
                    ),
                );
                p.params
                    .insert("keep".into(), describe_keep(&ops.backup_retention));
            }
            p.steps = steps.into_steps();
            p.params.insert("node".into(), g.node.clone());
            Ok(p)
        }
        Action::VerifyBackup { volid, node, .. } => {
            let node = ctx.pve_node(node)?;
            let c = find(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
            let mut p = Plan::new(format!("Verify {}", short_volid(volid)));
            let mut steps = StepList::default();
            let pbs = c.format.starts_with("pbs");
            if pbs {
                steps.add(
                    "verify",
                    None,
                    "read the verification state Proxmox Backup Server reports",
                );
            } else {
                let a = archive::parse(volid)
                    .ok_or_else(|| err(format!("{volid} is not a vzdump archive")))?;
                let tool = a
                    .compression
                    .tool()
                    .map(|t| format!("{t} -t, "))
                    .unwrap_or_default();
                let read = match a.container {
                    archive::Container::Tar => "list every tar member",
                    archive::Container::Vma => "vma verify of the decompressed stream",
                };
                steps.add("verify", None, format!("on {node}: {tool}{read}, SHA-256"));
            }
            steps.add("record", None, "record the result in the backup catalog");
            p.steps = steps.into_steps();
            p.params.insert("node".into(), node);
            Ok(p)
        }
        Action::SyncBackup {
            volid,
            node,
            to_node,
            to_storage,
            ..
        } => {
            let node = ctx.pve_node(node)?;
            let to_node = ctx.pve_node(to_node)?;
            find(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
            let target = storage_on(ctx, &to_node, to_storage)
                .ok_or_else(|| err(format!("{to_node} has no storage {to_storage}")))?;
            let source_shared = storage_on(ctx, &node, storage_of(volid)).is_some_and(|s| s.shared);
            if source_shared && storage_of(volid) == to_storage {
                return Err(err(format!(
                    "{to_storage} is the archive's own (shared) storage: nothing to copy"
                )));
            }
            if !target.content.iter().any(|c| c == "backup") {
                return Err(err(format!(
                    "{to_storage} on {to_node} does not take backups"
                )));
            }
            let mut p = Plan::new(format!(
                "Copy {} to {to_storage} on {to_node}",
                short_volid(volid)
            ));
            let mut steps = StepList::default();
            steps.add("copy", None, format!("copy from {node} to {to_node}:{to_storage} (SSH, written under a temporary name first)"));
            steps.add("compare", None, "SHA-256 on both sides must match");
            steps.add(
                "record",
                None,
                "record the copy in the catalog, linked to its original",
            );
            p.steps = steps.into_steps();
            p.params.insert("node".into(), node);
            p.params.insert("to_node".into(), to_node);
            Ok(p)
        }
        Action::PruneBackups {
            vmid,
            storage,
            node,
            guest,
        } => {
            let node = ctx.pve_node(node)?;
            let keep = &ops.backup_retention;
            let marks = prune_marks(ctx.facts.backups_on(&node, storage), *vmid, keep);
            let name = guest
                .as_ref()
                .map(|g| g.name.clone())
                .unwrap_or_else(|| vmid.to_string());
            let mut p = Plan::new(format!(
                "Prune backups of {name} on {storage} ({})",
                describe_keep(keep)
            ));
            let mut steps = StepList::default();
            let mut n = 0;
            for (c, m) in &marks {
                let when = c
                    .ctime
                    .map(|t| crate::timefmt::format_local(t, "%Y-%m-%d %H:%M"))
                    .unwrap_or_default();
                p.notes.push(format!(
                    "{:<9} {when}  {}",
                    m.label(),
                    short_volid(&c.volid)
                ));
                if *m == Mark::Remove {
                    n += 1;
                    steps.add(
                        &format!("remove-{n}"),
                        None,
                        format!("delete {}", short_volid(&c.volid)),
                    );
                    p.params.insert(format!("remove.{n}"), c.volid.clone());
                }
            }
            if n == 0 {
                return Err(err(format!(
                    "nothing to prune: every backup of {name} on {storage} is kept ({} archives, {})",
                    marks.len(),
                    describe_keep(keep)
                )));
            }
            steps.add("record", None, "refresh the backup catalog");
            p.steps = steps.into_steps();
            p.params.insert("node".into(), node);
            Ok(p)
        }
        Action::RestoreBackup {
            volid,
            node,
            target_node,
            new_name,
            new_ip,
            new_mac,
            start,
            snapshot_target,
            guest,
            kind,
        } => {
            let node = ctx.pve_node(node)?;
            let target = ctx.pve_node(target_node)?;
            let c = find(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
            let a = archive::parse(volid)
                .ok_or_else(|| err(format!("{volid} is not a vzdump archive")))?;
            let archive_kind = GuestKind::parse(&a.guest_type)
                .ok_or_else(|| err(format!("cannot restore a {} backup", a.guest_type)))?;
            if archive_kind != *kind {
                return Err(err(format!(
                    "{} holds a {}, not a {}",
                    short_volid(volid),
                    archive_kind.noun(),
                    kind.noun()
                )));
            }
            if !ctx.inventory.node(&target).is_some_and(|n| n.online()) {
                return Err(err(format!("{target} is not online")));
            }
            let conv = Convention::new(&ctx.config.naming);
            let origin_name = guest
                .as_ref()
                .map(|g| g.name.clone())
                .or_else(|| c.notes.clone())
                .unwrap_or_default();
            let role = match new_name.as_deref().map(|n| conv.check(n)) {
                Some(cmp) if cmp.is_compliant() => {
                    cmp.parts().map(|p| p.role.clone()).unwrap_or_default()
                }
                _ => conv
                    .role_of(
                        &origin_name,
                        &guest.as_ref().map(|g| g.tags.clone()).unwrap_or_default(),
                    )
                    .ok_or_else(|| {
                        err(format!(
                            "cannot tell the new guest's role from '{origin_name}': give a new name"
                        ))
                    })?,
            };
            // Disks go to the target's first storage that takes guest disks.
            let want = if archive_kind == GuestKind::Lxc {
                "rootdir"
            } else {
                "images"
            };
            let disk_storage = ctx
                .inventory
                .storages
                .iter()
                .filter(|s| s.node == target && s.content.iter().any(|x| x == want))
                .map(|s| s.storage.clone())
                .next()
                .ok_or_else(|| err(format!("{target} has no storage for {want}")))?;
            let wish = Wish {
                name: new_name.clone(),
                ip: *new_ip,
                mac: *new_mac,
            };
            let t = ctx.new_identity(
                tx,
                action_id,
                &target,
                &role,
                archive_kind,
                None,
                None,
                Some(disk_storage.clone()),
                &wish,
            )?;
            let mut p = Plan::new(format!(
                "Restore {} to {target} as {} (vmid {})",
                short_volid(volid),
                t.name,
                t.vmid
            ));
            let mut steps = StepList::default();
            let tn = Some(target.as_str());
            if *snapshot_target {
                let lvs = ctx.facts.lvs_of(&target);
                let (vg, lv) = super::plan_host::split_volume(&ops.lvm.default_volume)?;
                let origin = lvs
                    .iter()
                    .find(|l| l.vg == vg && l.name == lv)
                    .ok_or_else(|| err(format!("{target} has no {vg}/{lv} to snapshot first")))?;
                let size = crate::lvm::SnapshotSize::parse(&ops.lvm.snapshot_size)
                    .map(|s| s.lvcreate_size(origin.size_bytes.unwrap_or(0)))
                    .ok_or_else(|| err("bad lvm.snapshot_size"))?;
                let name = format!("pre-restore-{}", crate::timefmt::now_local("%Y-%m-%d-%H%M"));
                steps.add(
                    "target-snapshot",
                    tn,
                    format!("lvcreate -s -L {size} -n {name} {vg}/{lv} on {target}"),
                );
                p.safety_snapshot = Some(name);
                p.params.insert("target.size".into(), size);
                p.params
                    .insert("target.volume".into(), format!("{vg}/{lv}"));
            }
            steps.add(
                "restore",
                tn,
                format!(
                    "restore {} as vmid {} on {target}, disks on {disk_storage}, new MACs",
                    short_volid(volid),
                    t.vmid
                ),
            );
            steps.add(
                "configure",
                tn,
                format!(
                    "set {} {}, MAC {}, address {}/{} gw {}",
                    if archive_kind == GuestKind::Qemu {
                        "name"
                    } else {
                        "hostname"
                    },
                    t.hostname,
                    t.mac.map(|m| m.to_string()).unwrap_or_default(),
                    t.ip.map(|i| i.to_string()).unwrap_or_default(),
                    t.prefix_len,
                    t.gateway.map(|g| g.to_string()).unwrap_or_default()
                ),
            );
            if *start {
                steps.add("start", tn, format!("start {}", t.name));
            }
            steps.add(
                "verify",
                tn,
                "read the config back (and the status, if started)",
            );
            steps.add("record", tn, "record metadata, the address and the result");
            p.steps = steps.into_steps();
            p.params.insert("node".into(), node);
            p.targets.push(t);
            Ok(p)
        }
        _ => Err(err("not a backup action")),
    }
}
