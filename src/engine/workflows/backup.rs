//! Backup workflows: create (then verify, sync, prune), verify, sync, prune,
//! and restore as a new guest with a clean identity.

use serde_json::{Value, json};

use super::copy::{configure, destroy_made_guest, verify as verify_config, wait_unlocked};
use super::lvm::{param, record_made, snapshot_step};
use super::{Outcome, Run, StepCtx, failed, note};
use crate::backup::catalog::{self as bcat, Listing};
use crate::backup::prune::Mark;
use crate::config::operations::SyncVia;
use crate::engine::action::{GuestSel, short_volid};
use crate::engine::error::EngineError;
use crate::engine::facts::storage_of;
use crate::engine::plan_backup::prune_marks;
use crate::host::HostCommand;
use crate::pve::requests::{BackupMode, Compression, Power, RestoreOptions, VzdumpOptions};
use crate::pve::{GuestKind, GuestRef};

fn marker(run: &Run) -> String {
    format!("proxdeck {}", run.id())
}

/// Where a volume is on its node's filesystem (`pvesm path`).
async fn path_of(ctx: &StepCtx, node: &str, volid: &str) -> Result<String, EngineError> {
    let cmd = HostCommand::new("pvesm").args(["path", volid]);
    let out = ctx.host(node, &cmd).await?.check(node, &cmd)?;
    out.stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/'))
        .map(str::to_string)
        .ok_or_else(|| EngineError::Host(format!("{node}: pvesm path {volid} gave no path")))
}

/// Re-read a storage's listing into the catalog.
async fn catalog_storage(
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

/// Verify an archive on `node`, recording the outcome either way.
async fn verify_step(ctx: StepCtx, node: &str, volid: &str) -> Result<Value, EngineError> {
    let run = &ctx.run;
    // The catalog row the result is recorded on.
    let listed = catalog_storage(run, node, storage_of(volid)).await?;
    let entry = listed
        .iter()
        .find(|c| c.volid == volid)
        .ok_or_else(|| EngineError::Plan(format!("{volid} is not on its storage any more")))?;
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
            Ok(json!({"verified": true, "by": "Proxmox Backup Server"}))
        } else {
            Err(EngineError::Host(format!(
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
        return Err(EngineError::Host(format!(
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
        Ok(
            json!({"verified": true, "sha256": v.sha256, "size": v.size, "members": v.members, "path": path}),
        )
    } else {
        Err(EngineError::Host(format!(
            "{volid} failed verification: {}",
            v.message.unwrap_or_default()
        )))
    }
}

/// Copy an archive to another node's storage and compare checksums.
async fn sync_step(
    ctx: StepCtx,
    node: &str,
    volid: &str,
    to_node: &str,
    to_storage: &str,
) -> Result<Value, EngineError> {
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
                    EngineError::Host("direct sync needs ssh settings for the cluster".into())
                })?;
            let to = ssh
                .nodes
                .get(to_node)
                .ok_or_else(|| EngineError::Host(format!("no ssh address for {to_node}")))?;
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
        return Err(EngineError::Host(format!(
            "the copy of {file} on {to_node} does not match (SHA-256 {a} here, {b} there); it was removed"
        )));
    }
    catalog_storage(run, to_node, to_storage).await?;
    let (c, o, s) = (copy_volid.clone(), volid.to_string(), a.clone());
    run.engine
        .write(move |tx, inner| Ok(bcat::link_copy(tx, &inner.cluster, &c, &o, &s)?))
        .await?;
    Ok(json!({"copy": copy_volid, "sha256": a, "bytes": bytes}))
}

/// Remove what retention does not keep; returns what was removed.
async fn prune_step(
    ctx: StepCtx,
    node: &str,
    storage: &str,
    vmid: u32,
) -> Result<Value, EngineError> {
    let run = &ctx.run;
    let keep = run.engine.config().policies.ops.backup_retention;
    let list = run
        .client()
        .storage_content(node, storage, Some("backup"), Some(vmid))
        .await?;
    let marks = prune_marks(&list, vmid, &keep);
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
    Ok(json!({"removed": removed, "kept": marks.len() - removed.len()}))
}

#[allow(clippy::too_many_arguments)]
pub async fn create(
    run: &Run,
    g: &GuestSel,
    storage: &str,
    mode: &str,
    compress: &str,
    notes: Option<&str>,
) -> Outcome {
    let result = async {
        let node = g.node.as_str();
        let mark = marker(run);
        let backup = run
            .step("backup", |ctx| async move {
                let find = || async {
                    let list = run
                        .client()
                        .storage_content(node, storage, Some("backup"), Some(g.vmid))
                        .await?;
                    Ok::<_, EngineError>(
                        list.into_iter()
                            .find(|c| c.notes.as_deref().is_some_and(|n| n.contains(&mark))),
                    )
                };
                if ctx.prior_upid.is_none()
                    && let Some(c) = find().await?
                {
                    return Ok(json!({"volid": c.volid, "note": "made by an earlier run"}));
                }
                let opts = VzdumpOptions {
                    vmids: vec![g.vmid],
                    mode: BackupMode::parse(mode),
                    storage: Some(storage.to_string()),
                    compress: Compression::parse(compress),
                    notes_template: Some(format!("{} ({mark})", notes.unwrap_or("{{guestname}}"))),
                    ..Default::default()
                };
                let out = ctx.task(|| run.client().vzdump(node, &opts)).await?;
                let c = find().await?.ok_or_else(|| {
                    EngineError::Plan(format!(
                        "vzdump ended ({}) but no new backup of {} is on {storage}",
                        out.exitstatus, g.vmid
                    ))
                })?;
                Ok(json!({"volid": c.volid, "size": c.size}))
            })
            .await?;
        let volid = backup["volid"].as_str().unwrap_or_default().to_string();
        run.step("catalog", |_ctx| async {
            catalog_storage(run, node, storage).await?;
            let (v, m) = (volid.clone(), mode.to_string());
            run.engine
                .write(move |tx, inner| Ok(bcat::set_mode(tx, &inner.cluster, &v, &m)?))
                .await?;
            Ok(json!({"volid": volid}))
        })
        .await?;
        let mut out = json!({"volid": volid, "guest": g.vmid});
        if run.has_step("verify") {
            let v = run
                .step("verify", |ctx| verify_step(ctx, node, &volid))
                .await?;
            out["sha256"] = v["sha256"].clone();
        }
        if run.has_step("sync") {
            let (to_node, to_storage) = (param(run, "sync.node")?, param(run, "sync.storage")?);
            let s = run
                .step("sync", |ctx| {
                    sync_step(ctx, node, &volid, to_node, to_storage)
                })
                .await?;
            out["copy"] = s["copy"].clone();
        }
        if run.has_step("prune") {
            let p = run
                .step("prune", |ctx| prune_step(ctx, node, storage, g.vmid))
                .await?;
            out["pruned"] = p["removed"].clone();
        }
        Ok::<_, EngineError>(out)
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, Value::Null),
    }
}

pub async fn verify_only(run: &Run, volid: &str) -> Outcome {
    let result = async {
        let node = param(run, "node")?;
        let v = run
            .step("verify", |ctx| verify_step(ctx, node, volid))
            .await?;
        run.step("record", |_ctx| async {
            Ok(note("recorded with the verification"))
        })
        .await?;
        Ok::<_, EngineError>(json!({"volid": volid, "verified": true, "sha256": v["sha256"]}))
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, json!({"volid": volid})),
    }
}

pub async fn sync_only(run: &Run, volid: &str, to_storage: &str) -> Outcome {
    let result = async {
        let node = param(run, "node")?;
        let to_node = param(run, "to_node")?;
        let s = run
            .step("copy", |ctx| {
                sync_step(ctx, node, volid, to_node, to_storage)
            })
            .await?;
        run.step("compare", |_ctx| async {
            Ok(json!({"sha256": s["sha256"]}))
        })
        .await?;
        run.step("record", |_ctx| async { Ok(json!({"copy": s["copy"]})) })
            .await?;
        Ok::<_, EngineError>(json!({"volid": volid, "copy": s["copy"], "sha256": s["sha256"]}))
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, json!({"volid": volid})),
    }
}

pub async fn prune_only(run: &Run) -> Outcome {
    let result = async {
        let node = param(run, "node")?;
        let mut removed = Vec::new();
        let mut storages = Vec::new();
        for (s, volid) in super::lvm::removals(run)? {
            let storage = storage_of(&volid).to_string();
            run.step(&s.key, |_ctx| async {
                let listed = run
                    .client()
                    .storage_content(node, &storage, Some("backup"), None)
                    .await?;
                let Some(c) = listed.iter().find(|c| c.volid == volid) else {
                    return Ok(note("already gone"));
                };
                if c.protected {
                    return Err(EngineError::Plan(format!(
                        "{volid} was protected since the plan was made: not removed"
                    )));
                }
                if let Some(up) = run.client().delete_volume(node, &storage, &volid).await? {
                    run.client()
                        .wait_task(&up, &run.engine.options().wait, |_| {})
                        .await?;
                }
                Ok(json!({"removed": volid}))
            })
            .await?;
            if !storages.contains(&storage) {
                storages.push(storage);
            }
            removed.push(volid);
        }
        run.step("record", |_ctx| async {
            for st in &storages {
                catalog_storage(run, node, st).await?;
            }
            Ok(json!({"removed": removed.len()}))
        })
        .await?;
        Ok::<_, EngineError>(json!({"removed": removed}))
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, Value::Null),
    }
}

pub async fn restore(run: &Run, volid: &str, kind: GuestKind, guest: Option<&GuestSel>) -> Outcome {
    let Some(t) = run.plan.targets.first().cloned() else {
        return failed(
            &EngineError::Plan("the plan has no target".into()),
            Value::Null,
        );
    };
    let result = restore_steps(run, volid, kind, guest, &t).await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => {
            let cleanup = restore_cleanup(run, kind, &t).await;
            let msg = match cleanup {
                Ok(what) => format!("{e} ({what})"),
                Err(c) => format!("{e} (cleanup failed: {c})"),
            };
            failed(&EngineError::Plan(msg), json!({"volid": volid}))
        }
    }
}

async fn restore_steps(
    run: &Run,
    volid: &str,
    kind: GuestKind,
    guest: Option<&GuestSel>,
    t: &crate::engine::plan::TargetPlan,
) -> Result<Value, EngineError> {
    let c = run.client();
    let at = |s: &str| format!("{s}@{}", t.node);
    if run.has_step(&at("target-snapshot")) {
        let name = run.plan.safety_snapshot.clone().unwrap_or_default();
        let (volume, size) = (param(run, "target.volume")?, param(run, "target.size")?);
        run.step(&at("target-snapshot"), |ctx| {
            snapshot_step(ctx, &t.node, volume, &name, size)
        })
        .await?;
        record_made(
            run,
            &t.node,
            volume,
            &name,
            Some("before restoring a backup onto this node"),
            "safety",
        )
        .await?;
    }
    let target = GuestRef::new(&t.node, kind, t.vmid);
    let target = &target;
    run.step(&at("restore"), |ctx| async move {
        if ctx.prior_upid.is_none() {
            match run.locate(t.vmid).await? {
                Some(r)
                    if r.node.as_deref() == Some(t.node.as_str())
                        && ctx.run.detail_of(&ctx.key).await?.is_none()
                        && r.name.as_deref() != Some(t.name.as_str())
                        && r.lock.as_deref() != Some("create") =>
                {
                    return Err(EngineError::Plan(format!(
                        "VMID {} was taken meanwhile by {}",
                        t.vmid,
                        r.name.unwrap_or_default()
                    )));
                }
                Some(_) => {
                    wait_unlocked(run, t.vmid).await?;
                    return Ok(
                        json!({"vmid_was_free": true, "note": "restored by an earlier run"}),
                    );
                }
                None => {}
            }
        }
        let opts = RestoreOptions {
            vmid: t.vmid,
            archive: volid.to_string(),
            storage: t.storage.clone(),
            unique: Some(true),
            ..Default::default()
        };
        let out = ctx.task(|| c.restore(&t.node, kind, &opts)).await?;
        Ok(json!({"vmid_was_free": true, "exitstatus": out.exitstatus}))
    })
    .await?;
    run.step(&at("configure"), |_ctx| configure(run, target, t))
        .await?;
    let start = run.has_step(&at("start"));
    if start {
        run.step(&at("start"), |ctx| async move {
            if c.guest_status(target).await?.status == "running" {
                return Ok(note("already running"));
            }
            ctx.task(|| c.power(target, Power::Start)).await?;
            Ok(Value::Null)
        })
        .await?;
    }
    run.step(&at("verify"), |_ctx| verify_config(run, target, t, start))
        .await?;
    let origin_vmid = crate::backup::archive::parse(volid)
        .map(|a| a.vmid)
        .unwrap_or(0);
    let origin_node = guest
        .map(|g| g.node.clone())
        .unwrap_or_else(|| param(run, "node").unwrap_or_default().to_string());
    let (t2, id, vol) = (t.clone(), run.id().to_string(), volid.to_string());
    run.step(&at("record"), |_ctx| async move {
        run.engine
            .write(move |tx, inner| {
                crate::metadata::record_clone(
                    tx,
                    &inner.cluster,
                    &origin_node,
                    origin_vmid,
                    t2.vmid,
                    kind,
                    &t2.node,
                )?;
                super::copy::settle_identity(tx, inner, &t2)?;
                crate::engine::audit::append(
                    tx,
                    &inner.owner,
                    "guest_restored",
                    Some(&id),
                    &json!({"vmid": t2.vmid, "name": t2.name, "node": t2.node, "from": vol}),
                )?;
                Ok(json!({"vmid": t2.vmid}))
            })
            .await
    })
    .await?;
    Ok(json!({
        "target_node": t.node, "new_resource_id": t.vmid.to_string(), "new_resource_name": t.name,
        "ip": t.ip.map(|i| i.to_string()), "mac": t.mac.map(|m| m.to_string()), "status": "success"
    }))
}

/// A failed restore leaves nothing behind: the guest it made goes, the
/// identities it held are given back.
async fn restore_cleanup(
    run: &Run,
    kind: GuestKind,
    t: &crate::engine::plan::TargetPlan,
) -> Result<String, EngineError> {
    let mut what = Vec::new();
    let ours = run
        .detail_of(&format!("restore@{}", t.node))
        .await
        .ok()
        .flatten()
        .is_some_and(|d| d["vmid_was_free"] == true);
    if ours && destroy_made_guest(run, kind, t).await?.is_some() {
        what.push(format!("removed the half-restored guest {}", t.vmid));
    }
    let id = run.id().to_string();
    run.engine
        .write(move |tx, inner| {
            crate::engine::planner::release_all(tx, &inner.cluster, &inner.config, &id)?;
            Ok(())
        })
        .await?;
    what.push("released its name, address and MAC".into());
    Ok(what.join("; "))
}
