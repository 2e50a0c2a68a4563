//! How a copy of a guest can reach a node, by the rules Proxmox applies:
//! which volumes count as local (CD-ROMs and cloud-init drives included),
//! when a clone may go straight to another node, what a migration refuses
//! (a local ISO), that a running container is cloned only from a snapshot,
//! and where a restore can put the disks on the target.

use crate::engine::error::EngineError;
use crate::engine::plan::{PlanContext, Strategy};
use crate::inventory::{GuestInfo, StorageEntry};
use crate::pve::GuestKind;

/// Storage types on which a container volume can have a snapshot (the ones
/// pve-storage gives the `snapshot` feature for a container's raw/subvol volume).
const SNAPSHOT_CAPABLE: [&str; 4] = ["lvmthin", "zfspool", "rbd", "btrfs"];

/// The way a copy goes and what it needs on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub strategy: Strategy,
    /// Where the new disks go (a restore's target storage); None: where the source's are.
    pub storage: Option<String>,
    /// The source is a running container: clone it from a temporary snapshot.
    pub from_snapshot: bool,
    /// CD-ROM drives (key, volume) emptied on the clone before it migrates.
    pub eject: Vec<(String, String)>,
}

impl Route {
    fn new(strategy: Strategy, from_snapshot: bool) -> Route {
        Route {
            strategy,
            storage: None,
            from_snapshot,
            eject: Vec::new(),
        }
    }
}

/// How a copy of `src` can reach `target`, as Proxmox allows.
pub fn route(ctx: &PlanContext<'_>, src: &GuestInfo, target: &str) -> Result<Route, EngineError> {
    let storages = &ctx.inventory.storages;
    let on = |id: &str, node: &str| -> Option<&StorageEntry> {
        storages.iter().find(|s| s.storage == id && s.node == node)
    };
    let running_ct = src.kind == GuestKind::Lxc && src.is_running();
    let from_snapshot = running_ct
        && !src.storages.is_empty()
        && src.storages.iter().all(|s| {
            on(s, &src.node).is_some_and(|e| SNAPSHOT_CAPABLE.contains(&e.plugintype.as_str()))
        });
    let clonable = !running_ct || from_snapshot;
    if src.node == target {
        if !clonable {
            return Err(no_snapshot(src));
        }
        return Ok(Route::new(Strategy::CloneLocal, from_snapshot));
    }
    // Proxmox's own test for a clone to another node: every volume, CD-ROMs
    // and cloud-init drives included, on shared storage.
    let media_storages: Vec<&str> = src
        .media
        .iter()
        .filter_map(|m| m.storage.as_deref())
        .collect();
    let all_shared = !src.storages.is_empty()
        && src
            .storages
            .iter()
            .map(String::as_str)
            .chain(media_storages.iter().copied())
            .all(|s| on(s, &src.node).is_some_and(|e| e.shared) && on(s, target).is_some());
    if all_shared && clonable {
        return Ok(Route::new(
            Strategy::CloneWithTarget {
                storage: src.storages.join(", "),
            },
            from_snapshot,
        ));
    }
    // Clone on the source's node, then migrate: the disks' storages (and a
    // cloud-init drive's, which migration regenerates) must exist on the
    // target; an ISO migration cannot take is emptied on the clone first.
    let reaches = src.storages.iter().all(|s| on(s, target).is_some())
        && src
            .media
            .iter()
            .filter(|m| m.cloudinit)
            .filter_map(|m| m.storage.as_deref())
            .all(|s| on(s, target).is_some());
    if reaches && clonable {
        let eject = src
            .media
            .iter()
            .filter(|m| !m.cloudinit)
            .filter(|m| {
                !m.storage.as_deref().is_some_and(|s| {
                    on(s, &src.node).is_some_and(|e| e.shared) && on(s, target).is_some()
                })
            })
            .map(|m| (m.key.clone(), m.volume.clone()))
            .collect();
        return Ok(Route {
            eject,
            ..Route::new(Strategy::CloneThenMigrate, from_snapshot)
        });
    }
    let backup = storages
        .iter()
        .filter(|s| s.shared && s.node == src.node && s.content.iter().any(|c| c == "backup"))
        .find(|s| on(&s.storage, target).is_some());
    let Some(backup) = backup else {
        return Err(EngineError::NotPossible(format!(
            "no way to copy {} to {target}: its disks ({}) are not on storage shared with {target}, {}, and no shared backup storage reaches both nodes",
            src.name,
            src.storages.join(", "),
            if clonable {
                "cannot be migrated there"
            } else {
                "a running container on storage without snapshots cannot be cloned"
            }
        )));
    };
    Ok(Route {
        storage: Some(restore_storage(
            ctx,
            src.kind,
            src.storages.first().map(String::as_str),
            target,
        )?),
        ..Route::new(
            Strategy::BackupRestore {
                storage: backup.storage.clone(),
            },
            false,
        )
    })
}

fn no_snapshot(src: &GuestInfo) -> EngineError {
    EngineError::NotPossible(format!(
        "{} is a running container on storage without snapshots ({}): Proxmox clones a running container only from a snapshot; stop it first",
        src.name,
        src.storages.join(", ")
    ))
}

/// The target node's storage a restore puts the disks on: `preferred` (the
/// source's own) when the target has it for this kind of disk, else the one
/// with the most free space there. Never assumed: a storage the target
/// lacks makes Proxmox refuse the restore.
pub fn restore_storage(
    ctx: &PlanContext<'_>,
    kind: GuestKind,
    preferred: Option<&str>,
    target: &str,
) -> Result<String, EngineError> {
    let content = match kind {
        GuestKind::Qemu => "images",
        GuestKind::Lxc => "rootdir",
    };
    let usable: Vec<&StorageEntry> = ctx
        .inventory
        .storages
        .iter()
        .filter(|s| s.node == target && s.status == "available")
        .filter(|s| s.content.iter().any(|c| c == content))
        .collect();
    if let Some(own) = preferred.and_then(|id| usable.iter().find(|s| s.storage == id)) {
        return Ok(own.storage.clone());
    }
    usable
        .iter()
        .max_by_key(|s| s.maxdisk.unwrap_or(0).saturating_sub(s.disk.unwrap_or(0)))
        .map(|s| s.storage.clone())
        .ok_or_else(|| {
            EngineError::NotPossible(format!(
                "{target} has no available storage for {} disks (content {content})",
                kind.noun()
            ))
        })
}
