//! Steps on backup archives shared by the backup workflows: where an
//! archive is on its node, the catalog brought in line with a storage,
//! verification, copying to a secondary storage, and pruning by Proxmox's
//! retention rules.

use serde::{Deserialize, Serialize};

use crate::backup::catalog::{self as bcat, Listing};
use crate::backup::prune::{self, Candidate, Mark};
use crate::config::operations::{KeepRules, SyncVia};
use crate::engine::action::short_volid;
use crate::engine::error::EngineError;
use crate::engine::plan::storage_of;
use crate::engine::workflows::{Run, StepCtx};
use crate::host::HostCommand;
use crate::pve::types::StorageContent;

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

/// Decide a guest's backups on a storage (newest first), as Proxmox would
/// on the node whose zone `tz` is.
pub fn prune_marks(
    list: &[StorageContent],
    vmid: u32,
    keep: &KeepRules,
    tz: &jiff::tz::TimeZone,
) -> Vec<(StorageContent, Mark)> {
    let mine: Vec<&StorageContent> = list.iter().filter(|c| c.vmid == Some(vmid)).collect();
    let candidates: Vec<Candidate> = mine
        .iter()
        .map(|c| Candidate::of(&c.volid, c.ctime.unwrap_or(0), c.protected, tz))
        .collect();
    prune::mark(&candidates, keep, tz)
        .into_iter()
        .filter_map(|(c, m)| {
            mine.iter()
                .find(|x| x.volid == c.id)
                .map(|x| ((*x).clone(), m))
        })
        .collect()
}

/// Where a volume is on its node's filesystem (`pvesm path`).
pub async fn path_of(ctx: &StepCtx, node: &str, volid: &str) -> Result<String, EngineError> {
    let cmd = HostCommand::new("pvesm").args(["path", volid]);
    let out = ctx.host(node, &cmd).await?.check(node, &cmd)?;
    out.stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/'))
        .map(str::to_string)
        .ok_or_else(|| EngineError::Check(format!("{node}: pvesm path {volid} gave no path")))
}

/// Re-read a storage's listing into the catalog.
pub async fn catalog_storage(
    run: &Run,
    node: &str,
    storage: &str,
) -> Result<Vec<crate::pve::types::StorageContent>, EngineError> {
    let list = run
        .client()
        .storage_content(node, storage, Some("backup"), None)
        .await?;
    let (n, s, l) = (node.to_string(), storage.to_string(), list.clone());
    run.engine
        .write(move |tx, inner| {
            Ok(bcat::sync(
                tx,
                &inner.cluster,
                &[Listing {
                    node: &n,
                    storage: &s,
                    content: &l,
                }],
            )?)
        })
        .await?;
    Ok(list)
}

/// What verifying an archive found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveCheck {
    pub verified: bool,
    /// Who checked it, when not proxdeck (`Proxmox Backup Server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub members: Option<u64>,
    #[serde(default)]
    pub path: Option<String>,
}

/// Verify an archive on `node`, recording the outcome either way.
pub async fn verify_step(
    ctx: StepCtx,
    node: &str,
    volid: &str,
) -> Result<ArchiveCheck, EngineError> {
    let run = &ctx.run;
    // The catalog row the result is recorded on.
    let listed = catalog_storage(run, node, storage_of(volid)).await?;
    let entry = listed
        .iter()
        .find(|c| c.volid == volid)
        .ok_or_else(|| EngineError::Step(format!("{volid} is not on its storage any more")))?;
    // Proxmox Backup Server verifies its own snapshots.
    if entry.format.starts_with("pbs") {
        let state = entry.verification.as_ref().map(|v| v.state.clone());
        let ok = state.as_deref() == Some("ok");
        let (id, msg) = (
            volid.to_string(),
            state
                .clone()
                .unwrap_or_else(|| "never verified by the server".into()),
        );
        run.engine
            .write(move |tx, inner| {
                Ok(bcat::set_verified(
                    tx,
                    &inner.cluster,
                    &id,
                    ok,
                    (!ok).then_some(msg.as_str()),
                    None,
                )?)
            })
            .await?;
        return if ok {
            Ok(ArchiveCheck {
                verified: true,
                by: Some("Proxmox Backup Server".into()),
                ..Default::default()
            })
        } else {
            Err(EngineError::Check(format!(
                "{volid}: Proxmox Backup Server verification is {}",
                state.unwrap_or_else(|| "missing".into())
            )))
        };
    }
    let path = path_of(&ctx, node, volid).await?;
    let hosts = run.engine.hosts(node)?;
    let v = crate::backup::verify::verify(hosts.as_ref(), node, &path).await?;
    let (seq, id) = (ctx.seq, run.id().to_string());
    let lines = v.transcript.clone();
    run.engine
        .write(move |tx, _| crate::engine::journal::log_lines(tx, &id, Some(seq), &lines))
        .await?;
    if v.ok
        && let (Some(listed), Some(size)) = (entry.size, v.size)
        && listed != size
    {
        return Err(EngineError::Check(format!(
            "{volid}: the file has {size} bytes, the storage lists {listed}"
        )));
    }
    let (id, ok, msg, sha) = (volid.to_string(), v.ok, v.message.clone(), v.sha256.clone());
    run.engine
        .write(move |tx, inner| {
            Ok(bcat::set_verified(
                tx,
                &inner.cluster,
                &id,
                ok,
                msg.as_deref(),
                sha.as_deref(),
            )?)
        })
        .await?;
    if v.ok {
        Ok(ArchiveCheck {
            verified: true,
            by: None,
            sha256: v.sha256,
            size: v.size,
            members: v.members,
            path: Some(path),
        })
    } else {
        Err(EngineError::Check(format!(
            "{volid} failed verification: {}",
            v.message.unwrap_or_default()
        )))
    }
}

/// Copy an archive to another node's storage and compare checksums.
/// Where a copy went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Copied {
    pub copy: String,
    pub sha256: String,
    pub bytes: u64,
}

pub async fn sync_step(
    ctx: StepCtx,
    node: &str,
    volid: &str,
    to_node: &str,
    to_storage: &str,
) -> Result<Copied, EngineError> {
    let run = &ctx.run;
    let file = short_volid(volid).to_string();
    let copy_volid = format!("{to_storage}:backup/{file}");
    let src = path_of(&ctx, node, volid).await?;
    let dst = path_of(&ctx, to_node, &copy_volid).await?;
    let sha = |n: String, p: String| {
        let ctx = ctx.clone();
        async move {
            let cmd = HostCommand::new("sha256sum")
                .args(["-b", "--", p.as_str()])
                .timeout(std::time::Duration::from_secs(4 * 3600));
            let out = ctx.host(&n, &cmd).await?.check(&n, &cmd)?;
            Ok::<_, EngineError>(
                out.stdout
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    };
    let via = run
        .engine
        .config()
        .policies
        .ops
        .backup_sync
        .as_ref()
        .map(|s| s.via)
        .unwrap_or(SyncVia::Relay);
    let bytes = match via {
        SyncVia::Relay => {
            let hosts = run.engine.hosts(node)?;
            run.engine.hosts(to_node)?;
            hosts.copy(node, &src, to_node, &dst).await?
        }
        SyncVia::Direct => {
            let ssh = run
                .engine
                .config()
                .clusters
                .iter()
                .find(|c| c.name == run.engine.cluster())
                .and_then(|c| c.ssh.clone())
                .ok_or_else(|| {
                    EngineError::Invalid("direct sync needs ssh settings for the cluster".into())
                })?;
            let to = ssh
                .nodes
                .get(to_node)
                .ok_or_else(|| EngineError::Check(format!("no ssh address for {to_node}")))?;
            let cmd = HostCommand::new("scp")
                .args([
                    "-q",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    "-P",
                    &to.port.to_string(),
                    "--",
                ])
                .arg(src.clone())
                .arg(format!("{}@{}:{dst}", ssh.user, to.host))
                .timeout(std::time::Duration::from_secs(6 * 3600));
            ctx.host(node, &cmd).await?.check(node, &cmd)?;
            0
        }
    };
    let a = sha(node.to_string(), src.clone()).await?;
    let b = sha(to_node.to_string(), dst.clone()).await?;
    if a != b || a.is_empty() {
        let rm = HostCommand::new("rm").args(["-f", "--", dst.as_str()]);
        let _ = ctx.host(to_node, &rm).await;
        return Err(EngineError::Check(format!(
            "the copy of {file} on {to_node} does not match (SHA-256 {a} here, {b} there); it was removed"
        )));
    }
    catalog_storage(run, to_node, to_storage).await?;
    let (c, o, s) = (copy_volid.clone(), volid.to_string(), a.clone());
    run.engine
        .write(move |tx, inner| Ok(bcat::link_copy(tx, &inner.cluster, &c, &o, &s)?))
        .await?;
    Ok(Copied {
        copy: copy_volid,
        sha256: a,
        bytes,
    })
}

/// Remove what retention does not keep; returns what was removed.
/// What a prune step removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub kept: usize,
}

pub async fn prune_step(
    ctx: StepCtx,
    node: &str,
    storage: &str,
    vmid: u32,
) -> Result<Pruned, EngineError> {
    let run = &ctx.run;
    let keep = run.engine.config().policies.ops.backup_retention;
    let list = run
        .client()
        .storage_content(node, storage, Some("backup"), Some(vmid))
        .await?;
    let zone = run.engine.node_zone(node).await;
    let marks = prune_marks(&list, vmid, &keep, &zone);
    let mut removed = Vec::new();
    for (c, m) in &marks {
        if *m == Mark::Remove {
            if let Some(up) = run.client().delete_volume(node, storage, &c.volid).await? {
                run.client()
                    .wait_task(&up, &run.engine.options().wait, |_| {})
                    .await?;
            }
            removed.push(c.volid.clone());
        }
    }
    catalog_storage(run, node, storage).await?;
    let classes: Vec<(String, String)> = marks
        .iter()
        .filter(|(_, m)| *m != Mark::Remove)
        .map(|(c, m)| (c.volid.clone(), m.label()))
        .collect();
    run.engine
        .write(move |tx, inner| {
            for (v, c) in &classes {
                bcat::set_retention(tx, &inner.cluster, v, c)?;
            }
            Ok(())
        })
        .await?;
    let kept = marks.len() - removed.len();
    Ok(Pruned { removed, kept })
}

/// An archive in a storage listing, or an error naming where it was looked for.
pub fn find_archive<'a>(
    list: &'a [StorageContent],
    volid: &str,
    node: &str,
) -> Result<&'a StorageContent, EngineError> {
    list.iter().find(|c| c.volid == volid).ok_or_else(|| {
        EngineError::Invalid(format!(
            "no backup {volid} on storage {} (as {node} lists it)",
            storage_of(volid)
        ))
    })
}

/// A storage as `node` sees it.
pub fn storage_on<'a>(
    ctx: &'a crate::engine::plan::PlanContext<'_>,
    node: &str,
    storage: &str,
) -> Option<&'a crate::inventory::StorageEntry> {
    ctx.inventory
        .storages
        .iter()
        .find(|s| s.node == node && s.storage == storage)
}

/// A backup proxdeck makes for its own use (a replication's vehicle, a
/// safety net): found again by the marker in its notes after a crash.
pub struct MarkedBackup<'a> {
    pub node: &'a str,
    pub kind: crate::pve::GuestKind,
    pub vmid: u32,
    pub storage: &'a str,
    pub mode: crate::pve::requests::BackupMode,
    /// Plain text (no `{{`, no backslashes): the notes it is found by.
    pub marker: &'a str,
}

/// The archive of a marked backup, if it exists.
pub async fn find_marked(run: &Run, b: &MarkedBackup<'_>) -> Result<Option<String>, EngineError> {
    let list = run
        .client()
        .storage_content(b.node, b.storage, Some("backup"), Some(b.vmid))
        .await?;
    Ok(list
        .into_iter()
        .find(|c| c.notes.as_deref() == Some(b.marker))
        .map(|c| c.volid))
}

/// Make a marked backup as a step body (or find the one an earlier run
/// made): vzdump keeps every other backup (`prune-backups=keep-all=1`), and
/// one backup of a guest runs at a time in this process, as vzdump locks
/// the guest for the whole backup.
pub async fn marked_backup(
    ctx: &StepCtx,
    b: &MarkedBackup<'_>,
) -> Result<(String, bool), EngineError> {
    let run = &ctx.run;
    let _held = run.engine.guest_lock(b.vmid).write_owned().await;
    if ctx.prior_upid.is_none()
        && let Some(volid) = find_marked(run, b).await?
    {
        return Ok((volid, true));
    }
    let opts = crate::pve::requests::VzdumpOptions {
        vmids: vec![b.vmid],
        mode: Some(b.mode),
        storage: Some(b.storage.to_string()),
        compress: Some(crate::pve::requests::Compression::Zstd),
        notes_template: Some(
            crate::pve::requests::notes_template(b.marker).map_err(EngineError::Invalid)?,
        ),
        ..Default::default()
    };
    ctx.task(|| run.client().vzdump(b.node, &opts)).await?;
    let volid = find_marked(run, b).await?.ok_or_else(|| {
        EngineError::Step(format!(
            "vzdump ended but no backup of {} {} is in {}",
            b.kind.noun(),
            b.vmid,
            b.storage
        ))
    })?;
    Ok((volid, false))
}
