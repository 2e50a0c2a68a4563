//! Replicate (a template or guest to other nodes) and clone (a new guest on a
//! node): per target, copy by the strategy Proxmox allows, set name and
//! network, optionally template or start, verify by reading back, record.
//! Targets run in parallel; a failed target is cleaned up and the others go on.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Outcome, Run, StepCtx, failed, note};
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Strategy, TargetPlan};
use crate::ipam::alloc::Ipam;
use crate::pve::propstring::{IpConfig, IpSetting, LxcNet, QemuNet};
use crate::pve::requests::{
    BackupMode, CloneOptions, Compression, ConfigChange, DestroyOptions, MigrateOptions, Power,
    RestoreOptions, VzdumpOptions,
};
use crate::pve::{GuestKind, GuestRef};

pub async fn run(run: &Run, source: &GuestSel, start: bool, replica: bool) -> Outcome {
    let futures = run
        .plan
        .targets
        .iter()
        .map(|t| target(run, source, t, start, replica));
    let results = futures_util::future::join_all(futures).await;
    let summary: Vec<Value> = run
        .plan
        .targets
        .iter()
        .zip(&results)
        .map(|(t, r)| {
            json!({"target_node": t.node, "new_resource_id": t.vmid.to_string(), "new_resource_name": t.name,
                   "ip": t.ip.map(|i| i.to_string()), "mac": t.mac.map(|m| m.to_string()),
                   "status": if r.is_ok() { "success" } else { "failed" },
                   "error": r.as_ref().err().map(|e| e.to_string())})
        })
        .collect();
    let result = Value::Array(summary);
    let errors: Vec<&EngineError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    match errors.first() {
        None => Outcome::Succeeded(result),
        Some(EngineError::Cancelled) => Outcome::Cancelled { result },
        Some(_) => {
            let text = run
                .plan
                .targets
                .iter()
                .zip(&results)
                .filter_map(|(t, r)| r.as_ref().err().map(|e| format!("{}: {e}", t.node)))
                .collect::<Vec<_>>()
                .join("; ");
            failed(&EngineError::Plan(text), result)
        }
    }
}

async fn set_task_status(
    run: &Run,
    node: &str,
    status: &str,
    error: Option<String>,
) -> Result<(), EngineError> {
    let (id, node, status) = (run.id().to_string(), node.to_string(), status.to_string());
    run.engine
        .write(move |tx, _| {
            tx.execute(
                "UPDATE replication_tasks SET status = ?3, error = ?4,
                     started_at = COALESCE(started_at, strftime('%s','now')),
                     finished_at = CASE WHEN ?3 IN ('success', 'failed', 'cleaned_up') THEN strftime('%s','now') ELSE finished_at END,
                     progress = CASE WHEN ?3 = 'success' THEN 100 ELSE progress END
                 WHERE action_id = ?1 AND target_node = ?2",
                rusqlite::params![id, node, status, error],
            )?;
            Ok(())
        })
        .await
}

async fn set_progress(run: &Run, node: &str) -> Result<(), EngineError> {
    let (id, node) = (run.id().to_string(), node.to_string());
    run.engine
        .write(move |tx, _| {
            tx.execute(
                "UPDATE replication_tasks SET progress = (
                     SELECT 100.0 * SUM(state = 'done') / COUNT(*) FROM action_steps WHERE action_id = ?1 AND target = ?2)
                 WHERE action_id = ?1 AND target_node = ?2",
                rusqlite::params![id, node],
            )?;
            Ok(())
        })
        .await
}

async fn target(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    start: bool,
    replica: bool,
) -> Result<(), EngineError> {
    let slot = run.engine.node_slot(&t.node);
    let _permit = slot
        .acquire()
        .await
        .map_err(|_| EngineError::Plan("node slots closed".into()))?;
    set_task_status(run, &t.node, "running", None).await?;
    match steps(run, source, t, start, replica).await {
        Ok(()) => {
            set_task_status(run, &t.node, "success", None).await?;
            Ok(())
        }
        Err(e) => {
            let cleanup = cleanup(run, source, t).await;
            let keys: Vec<String> = run
                .plan
                .steps_of(&t.node)
                .iter()
                .map(|s| s.key.clone())
                .collect();
            let _ = run.skip_rest(keys).await;
            let msg = match &cleanup {
                Ok(what) => format!("{e} ({what})"),
                Err(c) => format!("{e} (cleanup failed: {c})"),
            };
            set_task_status(run, &t.node, "failed", Some(msg)).await?;
            Err(e)
        }
    }
}

fn at(t: &TargetPlan, step: &str) -> String {
    format!("{step}@{}", t.node)
}

/// Wait until a guest's config lock clears (a task of an earlier run still working).
pub(super) async fn wait_unlocked(run: &Run, vmid: u32) -> Result<(), EngineError> {
    for _ in 0..600 {
        match run.locate(vmid).await? {
            Some(r) if r.lock.is_some() => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => return Ok(()),
        }
    }
    Err(EngineError::Plan(format!("guest {vmid} stayed locked")))
}

async fn steps(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    start: bool,
    replica: bool,
) -> Result<(), EngineError> {
    let c = run.client();
    let src_ref = GuestRef::new(&source.node, source.kind, source.vmid);
    let src_ref = &src_ref;
    // Whether the VMID was free when this run began: then a guest with it later is ours.
    run.step(&at(t, "prepare"), |_ctx| async {
        c.guest_config(src_ref).await?;
        match run.locate(t.vmid).await? {
            None => Ok(json!({"vmid_was_free": true})),
            Some(r) if r.name.as_deref() == Some(&t.name) => {
                Ok(json!({"vmid_was_free": true, "note": "already created by an earlier run"}))
            }
            Some(r) => Err(EngineError::Plan(format!(
                "VMID {} was taken meanwhile by {} on {}",
                t.vmid,
                r.name.unwrap_or_default(),
                r.node.unwrap_or_default()
            ))),
        }
    })
    .await?;
    set_progress(run, &t.node).await?;
    let strategy = t.strategy.clone().unwrap_or(Strategy::CloneLocal);
    match &strategy {
        Strategy::CloneLocal | Strategy::CloneWithTarget { .. } | Strategy::CloneThenMigrate => {
            let (clone_node, target_param, storage) = match &strategy {
                Strategy::CloneWithTarget { storage } => (
                    source.node.clone(),
                    Some(t.node.clone()),
                    Some(storage.clone()),
                ),
                _ => (source.node.clone(), None, None),
            };
            run.step(&at(t, "clone"), |ctx| async move {
                if ctx.prior_upid.is_none()
                    && let Some(existing) = run.locate(t.vmid).await?
                {
                    // An earlier run created it before it could journal the task.
                    wait_unlocked(run, t.vmid).await?;
                    return Ok(note(format!(
                        "found {} already on {}",
                        t.vmid,
                        existing.node.unwrap_or_default()
                    )));
                }
                let opts = CloneOptions {
                    newid: t.vmid,
                    name: Some(t.name.clone()),
                    target: target_param.clone(),
                    full: Some(true),
                    storage: storage.clone(),
                    description: Some(format!(
                        "{} of {} ({}), made by proxdeck action {}",
                        if replica { "replica" } else { "clone" },
                        source.name,
                        source.vmid,
                        run.id()
                    )),
                    ..Default::default()
                };
                let out = ctx.task(|| c.clone_guest(src_ref, &opts)).await?;
                Ok(json!({"exitstatus": out.exitstatus, "on": clone_node}))
            })
            .await?;
            set_progress(run, &t.node).await?;
            if strategy == Strategy::CloneThenMigrate {
                run.step(&at(t, "migrate"), |ctx| migrate(ctx, t, source.kind))
                    .await?;
                set_progress(run, &t.node).await?;
            }
        }
        Strategy::BackupRestore { storage } => {
            let backup = run
                .step(&at(t, "backup"), |ctx| {
                    backup(ctx, source, &t.node, storage.clone())
                })
                .await?;
            set_progress(run, &t.node).await?;
            let volid = backup["volid"].as_str().unwrap_or_default().to_string();
            run.step(&at(t, "restore"), |ctx| restore(ctx, t, source, volid))
                .await?;
            set_progress(run, &t.node).await?;
        }
    }
    let target_ref = GuestRef::new(&t.node, source.kind, t.vmid);
    let target_ref = &target_ref;
    run.step(&at(t, "configure"), |_ctx| configure(run, target_ref, t))
        .await?;
    set_progress(run, &t.node).await?;
    if run.has_step(&at(t, "template")) {
        run.step(&at(t, "template"), |ctx| async move {
            if c.guest_config(target_ref).await?.is_template() {
                return Ok(note("already a template"));
            }
            match ctx.prior_upid.clone() {
                Some(u) => {
                    ctx.follow(&u).await?;
                }
                None => {
                    if let Some(up) = c.make_template(target_ref).await? {
                        let (id, seq, us) = (run.id().to_string(), ctx.seq, up.to_string());
                        run.engine
                            .write(move |tx, _| crate::engine::journal::set_upid(tx, &id, seq, &us))
                            .await?;
                        ctx.follow(&up).await?;
                    }
                }
            }
            Ok(Value::Null)
        })
        .await?;
        set_progress(run, &t.node).await?;
    }
    if run.has_step(&at(t, "start")) {
        run.step(&at(t, "start"), |ctx| async move {
            if c.guest_status(target_ref).await?.status == "running" {
                return Ok(note("already running"));
            }
            ctx.task(|| c.power(target_ref, Power::Start)).await?;
            Ok(Value::Null)
        })
        .await?;
        set_progress(run, &t.node).await?;
    }
    run.step(&at(t, "verify"), |_ctx| {
        verify(run, target_ref, t, start && !source.template)
    })
    .await?;
    set_progress(run, &t.node).await?;
    run.step(&at(t, "record"), |_ctx| record(run, source, t, replica))
        .await?;
    let _ = start;
    Ok(())
}

async fn migrate(ctx: StepCtx, t: &TargetPlan, kind: GuestKind) -> Result<Value, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    if ctx.prior_upid.is_none() {
        if let Some(r) = run.locate(t.vmid).await?
            && r.lock.as_deref() == Some("migrate")
        {
            wait_unlocked(run, t.vmid).await?;
        }
        match run.locate(t.vmid).await? {
            Some(r) if r.node.as_deref() == Some(&t.node) => {
                return Ok(note("already on the target node"));
            }
            None => {
                return Err(EngineError::Plan(format!(
                    "guest {} vanished before its migration",
                    t.vmid
                )));
            }
            _ => {}
        }
    }
    let from = run
        .locate(t.vmid)
        .await?
        .and_then(|r| r.node)
        .unwrap_or_else(|| t.node.clone());
    let g = GuestRef::new(&from, kind, t.vmid);
    let opts = MigrateOptions {
        target: t.node.clone(),
        with_local_disks: (kind == GuestKind::Qemu).then_some(true),
        ..Default::default()
    };
    let out = ctx.task(|| c.migrate(&g, &opts)).await?;
    Ok(json!({"exitstatus": out.exitstatus}))
}

/// The marker that finds this action's backup for one target again after a
/// crash (each target has its own vehicle backup).
fn backup_marker(run: &Run, target: &str) -> String {
    format!("proxdeck {} for {target}", run.id())
}

async fn find_backup(
    run: &Run,
    source: &GuestSel,
    target: &str,
    storage: &str,
) -> Result<Option<String>, EngineError> {
    let marker = backup_marker(run, target);
    let list = run
        .client()
        .storage_content(&source.node, storage, Some("backup"), Some(source.vmid))
        .await?;
    Ok(list
        .into_iter()
        .find(|b| b.notes.as_deref() == Some(marker.as_str()))
        .map(|b| b.volid))
}

async fn backup(
    ctx: StepCtx,
    source: &GuestSel,
    target: &str,
    storage: String,
) -> Result<Value, EngineError> {
    let run = &ctx.run;
    // One backup of a guest at a time from this process: Proxmox runs one
    // vzdump job per node at once anyway, and two in the same second would
    // want the same archive name.
    let guest_lock = run.engine.guest_lock(source.vmid);
    let _held = guest_lock.lock().await;
    if ctx.prior_upid.is_none()
        && let Some(volid) = find_backup(run, source, target, &storage).await?
    {
        return Ok(json!({"volid": volid, "note": "made by an earlier run"}));
    }
    let opts = VzdumpOptions {
        vmids: vec![source.vmid],
        mode: Some(BackupMode::Snapshot),
        storage: Some(storage.clone()),
        compress: Some(Compression::Zstd),
        notes_template: Some(backup_marker(run, target)),
        ..Default::default()
    };
    ctx.task(|| run.client().vzdump(&source.node, &opts))
        .await?;
    let volid = find_backup(run, source, target, &storage)
        .await?
        .ok_or_else(|| {
            EngineError::Plan(format!(
                "vzdump ended but no backup of {} is in {storage}",
                source.vmid
            ))
        })?;
    Ok(json!({"volid": volid}))
}

async fn restore(
    ctx: StepCtx,
    t: &TargetPlan,
    source: &GuestSel,
    volid: String,
) -> Result<Value, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    if ctx.prior_upid.is_none() && run.locate(t.vmid).await?.is_some() {
        wait_unlocked(run, t.vmid).await?;
        return Ok(note("restored by an earlier run"));
    }
    let storage = run
        .client()
        .guest_config(&GuestRef::new(&source.node, source.kind, source.vmid))
        .await?
        .disks()
        .first()
        .and_then(|(_, d)| d.storage().map(str::to_string));
    let opts = RestoreOptions {
        vmid: t.vmid,
        archive: volid.clone(),
        storage,
        unique: Some(true),
        ..Default::default()
    };
    ctx.task(|| c.restore(&t.node, source.kind, &opts)).await?;
    // The archive was only a vehicle: remove it.
    let store_id = volid.split(':').next().unwrap_or_default().to_string();
    if let Ok(Some(up)) = c.delete_volume(&source.node, &store_id, &volid).await {
        let _ = c.wait_task(&up, &run.engine.options().wait, |_| {}).await;
    }
    Ok(json!({"archive": volid}))
}

/// Set the new guest's name and network, keeping every other NIC setting.
pub(super) async fn configure(
    run: &Run,
    g: &GuestRef,
    t: &TargetPlan,
) -> Result<Value, EngineError> {
    let c = run.client();
    let cfg = c.guest_config(g).await?;
    let (Some(ip), Some(mac)) = (t.ip, t.mac) else {
        return Err(EngineError::Plan(format!(
            "the plan for {} has no address",
            t.node
        )));
    };
    let cidr =
        ipnet::Ipv4Net::new(ip, t.prefix_len).map_err(|e| EngineError::Plan(e.to_string()))?;
    let mut change = ConfigChange::default();
    match g.kind {
        GuestKind::Qemu => {
            let mut net = cfg
                .qemu_net(0)
                .unwrap_or_else(|| QemuNet::new("virtio", mac, &t.bridge));
            net.set_mac(mac);
            change = change
                .set("name", &t.name)
                .set("net0", net.to_string())
                .set(
                    "ipconfig0",
                    IpConfig::new(IpSetting::Static(cidr), t.gateway).to_string(),
                );
            if let Some(ns) = &t.nameserver {
                change = change.set("nameserver", ns);
            }
        }
        GuestKind::Lxc => {
            let net = match cfg.lxc_net(0) {
                Some(mut n) => {
                    n.set_mac(mac);
                    n.set_ip(IpSetting::Static(cidr));
                    if let Some(gw) = t.gateway {
                        n.set_gw(gw);
                    }
                    n
                }
                None => LxcNet::new("eth0", &t.bridge, mac, IpSetting::Static(cidr), t.gateway),
            };
            change = change
                .set("hostname", &t.hostname)
                .set("net0", net.to_string());
            if let Some(ns) = &t.nameserver {
                change = change.set("nameserver", ns);
            }
        }
    }
    c.set_config(g, &change).await?;
    Ok(json!({"ip": cidr.to_string(), "mac": mac.to_string()}))
}

/// Read the config back: name, MAC and address must be what the plan says.
pub(super) async fn verify(
    run: &Run,
    g: &GuestRef,
    t: &TargetPlan,
    running: bool,
) -> Result<Value, EngineError> {
    let c = run.client();
    let cfg = c.guest_config(g).await?;
    let nics = crate::inventory::nics_of(g.kind, &cfg);
    let mut problems = Vec::new();
    if cfg.name() != Some(t.name.as_str()) && g.kind == GuestKind::Qemu {
        problems.push(format!("name is {:?}", cfg.name()));
    }
    if g.kind == GuestKind::Lxc && cfg.get("hostname") != Some(t.hostname.as_str()) {
        problems.push(format!("hostname is {:?}", cfg.get("hostname")));
    }
    if nics.first().and_then(|n| n.mac) != t.mac {
        problems.push(format!(
            "MAC is {:?}",
            nics.first().and_then(|n| n.mac).map(|m| m.to_string())
        ));
    }
    if nics.first().and_then(|n| n.address()) != t.ip {
        problems.push(format!(
            "address is {:?}",
            nics.first()
                .and_then(|n| n.address())
                .map(|i| i.to_string())
        ));
    }
    if running && c.guest_status(g).await?.status != "running" {
        problems.push("it is not running".into());
    }
    if problems.is_empty() {
        Ok(json!({"verified": true}))
    } else {
        Err(EngineError::Plan(format!(
            "{} on {} does not match the plan: {}",
            t.name,
            t.node,
            problems.join(", ")
        )))
    }
}

/// Metadata, the address made active, the name used.
async fn record(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    replica: bool,
) -> Result<Value, EngineError> {
    let (t, source, id) = (t.clone(), source.clone(), run.id().to_string());
    run.engine
        .write(move |tx, inner| {
            if replica {
                crate::metadata::record_replica(
                    tx,
                    &inner.cluster,
                    source.vmid,
                    t.vmid,
                    source.kind,
                    &t.node,
                )?;
            } else {
                crate::metadata::record_clone(
                    tx,
                    &inner.cluster,
                    &source.node,
                    source.vmid,
                    t.vmid,
                    source.kind,
                    &t.node,
                )?;
            }
            settle_identity(tx, inner, &t)?;
            crate::engine::audit::append(
                tx,
                &inner.owner,
                "guest_created",
                Some(&id),
                &json!({"vmid": t.vmid, "name": t.name, "node": t.node}),
            )?;
            Ok(json!({"vmid": t.vmid}))
        })
        .await
}

/// The new guest exists: its metadata gets its identity, its address
/// becomes active and its name reservation used.
pub(super) fn settle_identity(
    tx: &rusqlite::Transaction<'_>,
    inner: &crate::engine::core::Inner,
    t: &TargetPlan,
) -> Result<(), EngineError> {
    tx.execute(
        "UPDATE resource_metadata SET name = ?3, ip = ?4, mac = ?5, hostname = ?6 WHERE cluster = ?1 AND vmid = ?2",
        rusqlite::params![inner.cluster, t.vmid, t.name, t.ip.map(|i| i.to_string()), t.mac.map(|m| m.to_string()), t.hostname],
    )?;
    if let Some(a) = t.ip_allocation {
        Ipam::new(&inner.cluster, &inner.config.naming).activate(tx, a, t.vmid)?;
    }
    if let Some(n) = t.name_reservation {
        crate::naming::reserve::mark_used(tx, n)?;
    }
    Ok(())
}

/// Remove the guest a failed step made (stopped first if it runs), wherever it
/// is now; the node it was on, or None when it is already gone.
pub(super) async fn destroy_made_guest(
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

/// Undo a failed target: remove the guest this run made, give back its identities.
async fn cleanup(run: &Run, source: &GuestSel, t: &TargetPlan) -> Result<String, EngineError> {
    let mut what = Vec::new();
    let prepared = run.detail_of(&at(t, "prepare")).await?;
    let ours = prepared
        .as_ref()
        .is_some_and(|d| d["vmid_was_free"] == true);
    if ours && let Some(node) = destroy_made_guest(run, source.kind, t).await? {
        what.push(format!(
            "removed the half-made guest {} from {node}",
            t.vmid
        ));
    }
    let (t2, id) = (t.clone(), run.id().to_string());
    run.engine
        .write(move |tx, inner| {
            if let Some(a) = t2.ip_allocation {
                Ipam::new(&inner.cluster, &inner.config.naming).release(tx, a)?;
            }
            if let Some(n) = t2.name_reservation {
                tx.execute(
                    "UPDATE name_reservations SET state = 'released', released_at = strftime('%s','now') WHERE id = ?1 AND state = 'reserved'",
                    [n],
                )?;
            }
            crate::engine::audit::append(tx, &inner.owner, "target_cleaned_up", Some(&id), &json!({"node": t2.node, "vmid": t2.vmid}))?;
            Ok(())
        })
        .await?;
    what.push("released its name, address and MAC".into());
    Ok(what.join("; "))
}
