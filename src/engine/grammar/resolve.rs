//! From words to a typed action in this cluster: guests by name or VMID,
//! nodes in either spelling (`node-02`, `pve-node-02`), archives by volid,
//! file name or "the newest of a guest", and the defaults the configuration
//! gives (backup storage, sync target).

use super::ActionText;
use crate::backup::archive;
use crate::config::Config;
use crate::engine::action::*;
use crate::engine::error::EngineError;
use crate::engine::refresh::BackupItem;
use crate::inventory::Inventory;
use crate::macaddr::MacAddr;
use crate::pve::GuestKind;

/// What resolving words needs to know.
pub struct Resolver<'a> {
    pub config: &'a Config,
    pub inventory: &'a Inventory,
    /// Backups listed on the cluster's storages (for archives by name);
    /// empty when not read.
    pub backups: &'a [BackupItem],
}

impl Resolver<'_> {
    /// A guest by name or VMID.
    pub fn guest(&self, which: &str) -> Result<GuestSel, EngineError> {
        self.inventory
            .find(which)
            .map(GuestSel::of)
            .ok_or_else(|| EngineError::UnknownGuest(which.to_string()))
    }

    /// A node in either spelling, as Proxmox names it.
    pub fn node(&self, which: &str) -> Result<String, EngineError> {
        if let Some(n) = self.config.naming.node(which) {
            return Ok(n.pve_name.clone());
        }
        if self.inventory.node(which).is_some() {
            return Ok(which.to_string());
        }
        Err(EngineError::UnknownNode(which.to_string()))
    }

    /// An archive by volid or file name; several copies of one file on
    /// different storages need the volid.
    pub fn archive(&self, which: &str) -> Result<&BackupItem, EngineError> {
        let file = which.rsplit(['/', ':']).next().unwrap_or(which);
        let hits: Vec<&BackupItem> = self
            .backups
            .iter()
            .filter(|b| b.content.volid == which)
            .collect();
        let hits = if hits.is_empty() {
            self.backups.iter().filter(|b| b.file() == file).collect()
        } else {
            hits
        };
        match hits.as_slice() {
            [one] => Ok(one),
            [] => Err(EngineError::Invalid(format!(
                "no backup {which} on any backup storage of an online node"
            ))),
            many => Err(EngineError::Invalid(format!(
                "{which} is on several storages ({}): give the volid",
                many.iter()
                    .map(|b| b.content.volid.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The newest backup of a guest (by name or VMID; a guest that is gone
    /// can be named by its VMID).
    pub fn latest_of(&self, which: &str) -> Result<&BackupItem, EngineError> {
        let vmid = match self.inventory.find(which) {
            Some(g) => g.vmid,
            None => which
                .parse::<u32>()
                .map_err(|_| EngineError::UnknownGuest(which.to_string()))?,
        };
        self.backups
            .iter()
            .filter(|b| archive_vmid(b) == Some(vmid))
            .max_by_key(|b| (b.content.ctime.unwrap_or(0), b.content.volid.clone()))
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "no backup of {which} on any backup storage of an online node"
                ))
            })
    }

    /// The guest a backup is of, when it is still in the cluster.
    fn guest_of(&self, b: &BackupItem) -> Option<GuestSel> {
        archive_vmid(b)
            .and_then(|v| self.inventory.guest(v))
            .map(GuestSel::of)
    }

    /// The storage a guest's backups go to by default: the policy's
    /// `backup_storage`, else the first storage of its node that takes backups.
    fn backup_storage(&self, g: &GuestSel) -> Result<String, EngineError> {
        if let Some(s) = &self.config.policies.ops.backup_storage {
            return Ok(s.clone());
        }
        self.inventory
            .storages
            .iter()
            .find(|s| s.node == g.node && s.content.iter().any(|c| c == "backup"))
            .map(|s| s.storage.clone())
            .ok_or_else(|| {
                EngineError::NotPossible(format!(
                    "{} has no storage that takes backups: give --storage",
                    g.node
                ))
            })
    }
}

/// The VMID an archive is of (from the listing, else its name).
fn archive_vmid(b: &BackupItem) -> Option<u32> {
    b.content
        .vmid
        .or_else(|| archive::parse(&b.content.volid).map(|a| a.vmid))
}

/// The typed action `text` means.
pub fn resolve(text: &ActionText, r: &Resolver<'_>) -> Result<Action, EngineError> {
    Ok(match text {
        ActionText::Replicate(a) => Action::Replicate(Replicate {
            source: r.guest(&a.guest)?,
            targets: if a.to == "all" {
                Targets::All
            } else {
                Targets::Nodes(
                    a.to.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|n| r.node(n))
                        .collect::<Result<_, _>>()?,
                )
            },
            start: a.start,
        }),
        ActionText::Clone(a) => Action::CloneGuest(CloneGuest {
            source: r.guest(&a.guest)?,
            target_node: r.node(&a.to)?,
            role: a.role.clone(),
            start: a.start,
        }),
        ActionText::Snapshot(a) => Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: r.guest(&a.guest)?,
            name: a.name.clone(),
            description: a.description.clone(),
            vmstate: a.vmstate,
        }),
        ActionText::Rollback(a) => Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: r.guest(&a.guest)?,
            snapshot: a.snapshot.clone(),
            start: a.start,
        }),
        ActionText::AssignIp(a) => Action::AssignStaticIp(AssignStaticIp {
            guest: r.guest(&a.guest)?,
            ip: a.ip,
            mac: a.mac,
            hostname: a.hostname.clone(),
        }),
        ActionText::DeleteSnapshot(a) => Action::DeleteGuestSnapshot(DeleteGuestSnapshot {
            guest: r.guest(&a.guest)?,
            snapshot: a.snapshot.clone(),
            by_retention: false,
        }),
        ActionText::Delete(a) => Action::DeleteGuest(DeleteGuest {
            guest: r.guest(&a.guest)?,
        }),
        ActionText::Backup(a) => {
            let guest = r.guest(&a.guest)?;
            let storage = match &a.storage {
                Some(s) => s.clone(),
                None => r.backup_storage(&guest)?,
            };
            Action::CreateBackup(CreateBackup {
                guest,
                storage,
                mode: a.mode.clone(),
                compress: a.compress.clone(),
                notes: a.notes.clone(),
                verify: a.verify,
                sync: a.sync,
                prune: a.prune,
            })
        }
        ActionText::Verify(a) => {
            let b = r.archive(&a.archive)?;
            Action::VerifyBackup(VerifyBackup {
                volid: b.content.volid.clone(),
                node: b.node.clone(),
                guest: r.guest_of(b),
            })
        }
        ActionText::Sync(a) => {
            let b = r.archive(&a.archive)?;
            let target = r.config.policies.ops.backup_sync.as_ref();
            let to_node = match (&a.to_node, target) {
                (Some(n), _) => r.node(n)?,
                (None, Some(t)) => r.node(&t.node)?,
                (None, None) => {
                    return Err(EngineError::Invalid(
                        "no secondary storage: give --to-node and --to-storage, or set backup_sync in action-policies.yml".into(),
                    ));
                }
            };
            let to_storage = match (&a.to_storage, target) {
                (Some(s), _) => s.clone(),
                (None, Some(t)) => t.storage.clone(),
                (None, None) => {
                    return Err(EngineError::Invalid(
                        "no secondary storage: give --to-storage, or set backup_sync in action-policies.yml".into(),
                    ));
                }
            };
            Action::SyncBackup(SyncBackup {
                volid: b.content.volid.clone(),
                node: b.node.clone(),
                to_node,
                to_storage,
                guest: r.guest_of(b),
            })
        }
        ActionText::Prune(a) => {
            let guest = r.guest(&a.guest)?;
            let storage = match &a.storage {
                Some(s) => s.clone(),
                None => r.backup_storage(&guest)?,
            };
            let node = r
                .inventory
                .storages
                .iter()
                .find(|s| s.storage == storage && (s.node == guest.node || s.shared))
                .map(|s| {
                    if s.shared {
                        guest.node.clone()
                    } else {
                        s.node.clone()
                    }
                })
                .ok_or_else(|| {
                    EngineError::NotPossible(format!(
                        "no storage {storage} reachable from {}",
                        guest.node
                    ))
                })?;
            Action::PruneBackups(PruneBackups {
                vmid: guest.vmid,
                storage,
                node,
                guest: Some(guest),
            })
        }
        ActionText::Restore(a) => {
            let b = match (&a.archive, &a.latest_of) {
                (Some(x), _) => r.archive(x)?,
                (None, Some(g)) => r.latest_of(g)?,
                (None, None) => {
                    return Err(EngineError::Invalid(
                        "say which backup: an archive, or --latest-of GUEST".into(),
                    ));
                }
            };
            let parsed = archive::parse(&b.content.volid).ok_or_else(|| {
                EngineError::Invalid(format!("{} is not a vzdump archive", b.content.volid))
            })?;
            let kind = GuestKind::parse(&parsed.guest_type).ok_or_else(|| {
                EngineError::Invalid(format!("cannot restore a {} backup", parsed.guest_type))
            })?;
            let new_mac = match a.mac.as_deref() {
                None | Some("auto-generate") | Some("auto") => None,
                Some(m) => Some(
                    m.parse::<MacAddr>()
                        .map_err(|e| EngineError::Invalid(format!("--mac {m}: {e}")))?,
                ),
            };
            Action::RestoreBackup(RestoreBackup {
                volid: b.content.volid.clone(),
                node: b.node.clone(),
                target_node: r.node(&a.to)?,
                new_name: a.name.clone(),
                new_ip: a.ip,
                new_mac,
                start: a.start,
                snapshot_target: a.snapshot_target,
                guest: r.guest_of(b),
                kind,
            })
        }
        ActionText::LvmSnapshot(a) => Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: r.node(&a.node)?,
            volume: a.volume.clone(),
            name: a.name.clone(),
            size: a.size.clone(),
            description: a.description.clone(),
        }),
        ActionText::LvmMerge(a) => Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: r.node(&a.node)?,
            volume: a.volume.clone(),
            name: a.snapshot.clone(),
        }),
        ActionText::LvmCleanup(a) => Action::CleanupLvmSnapshots(CleanupLvmSnapshots {
            node: a.node.as_deref().map(|n| r.node(n)).transpose()?,
        }),
        ActionText::Upgrade(a) => Action::GuardedHostUpgrade(GuardedHostUpgrade {
            node: r.node(&a.node)?,
            command: a.command.clone(),
        }),
    })
}
