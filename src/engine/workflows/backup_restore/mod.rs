//! Restore a backup as a new guest with a clean identity: the next name,
//! address and MAC of the target node (or the ones asked for), optionally an
//! LVM snapshot of the target node first; a failed restore removes what it
//! made and gives its identity back.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::Ipv4Addr;

use super::backup_verify::archive_subject;
use super::common::backup::{find_archive, storage_on};
use super::common::guest::{Made, claim_vmid, destroy_made_guest, wait_unlocked};
use super::common::lvm::{LvPurpose, record_made, snapshot_step};
use super::common::lvm_plan::{find_origin, lvcreate_line, new_snapshot, split_volume};
use super::common::network::{configure, settle_identity, verify};
use super::replicate::plan::configure_line;
use super::replicate::route::restore_storage;
use super::step::{done, note};
use super::{Outcome, Run, Workflow, failed};
use crate::action_kind::ActionKind;
use crate::backup::archive;
use crate::engine::action::{GuestSel, short_volid};
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{
    NewGuest, Plan, PlanContext, PlanFacts, StepList, TargetPlan, Wish, release_all, storage_of,
};
use crate::macaddr::MacAddr;
use crate::naming::Convention;
use crate::pve::requests::{Power, RestoreOptions};
use crate::pve::{GuestKind, GuestRef};

/// Restore a backup as a new guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreBackup {
    pub volid: String,
    /// A node that reaches the backup's storage.
    pub node: String,
    pub target_node: String,
    /// None: named by the convention.
    pub new_name: Option<String>,
    /// None: the next free address of the target node.
    pub new_ip: Option<Ipv4Addr>,
    /// None: generated.
    pub new_mac: Option<MacAddr>,
    #[serde(default)]
    pub start: bool,
    /// Take an LVM snapshot of the target node's root first.
    #[serde(default)]
    pub snapshot_target: bool,
    /// The guest the backup is of, when it still exists.
    pub guest: Option<GuestSel>,
    /// The backup's guest type (`lxc`, `qemu`).
    pub kind: GuestKind,
}

/// What the record step wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Recorded {
    vmid: u32,
}

impl Workflow for RestoreBackup {
    fn name(&self) -> &'static str {
        "restore"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::RestoreBackup
    }

    fn guests(&self) -> Vec<&GuestSel> {
        self.guest.iter().collect()
    }

    /// The target node: the restore works there.
    #[allow(clippy::misnamed_getters)]
    fn node(&self) -> &str {
        &self.target_node
    }

    fn id_subject(&self) -> String {
        archive_subject(&self.volid)
    }

    fn id_prefix(&self) -> &'static str {
        "restore"
    }

    fn describe(&self) -> String {
        format!(
            "restore {} to {}{}",
            short_volid(&self.volid),
            self.target_node,
            self.new_name
                .as_ref()
                .map(|n| format!(" as {n}"))
                .unwrap_or_default()
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            let content = [(self.node.clone(), storage_of(&self.volid).to_string())];
            let lvs: Vec<String> = if self.snapshot_target {
                vec![self.target_node.clone()]
            } else {
                Vec::new()
            };
            engine.read_facts(&lvs, &content).await
        })
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let ops = &ctx.config.policies.ops;
        let RestoreBackup {
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
        } = self;

        let node = ctx.pve_node(node)?;
        let target = ctx.pve_node(target_node)?;
        let c = find_archive(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
        let a = archive::parse(volid)
            .ok_or_else(|| EngineError::Invalid(format!("{volid} is not a vzdump archive")))?;
        let archive_kind = GuestKind::parse(&a.guest_type).ok_or_else(|| {
            EngineError::Invalid(format!("cannot restore a {} backup", a.guest_type))
        })?;
        if archive_kind != *kind {
            return Err(EngineError::Invalid(format!(
                "{} holds a {}, not a {}",
                short_volid(volid),
                archive_kind.noun(),
                kind.noun()
            )));
        }
        if !ctx.inventory.node(&target).is_some_and(|n| n.online()) {
            return Err(EngineError::Invalid(format!("{target} is not online")));
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
                    EngineError::Invalid(format!(
                        "cannot tell the new guest's role from '{origin_name}': give a new name"
                    ))
                })?,
        };
        // Proxmox restores only an archive the target node can read: one on
        // storage local to another node is refused here, not by Proxmox.
        let archive_storage = storage_of(volid);
        let shared = storage_on(ctx, &node, archive_storage).is_some_and(|s| s.shared);
        if target != node && !shared {
            return Err(EngineError::NotPossible(format!(
                "{} is on {archive_storage}, which is local to {node}: {target} cannot read it. Restore it on {node}, or copy it to storage {target} reaches first (backup sync)",
                short_volid(volid)
            )));
        }
        // The disks go where the original's were when the target has that
        // storage, else to the target's roomiest storage for guest disks.
        let preferred = guest
            .as_ref()
            .and_then(|g| ctx.inventory.guest(g.vmid))
            .and_then(|g| g.storages.first().cloned());
        let disk_storage = restore_storage(ctx, archive_kind, preferred.as_deref(), &target)?;
        let wish = Wish {
            name: new_name.clone(),
            ip: *new_ip,
            mac: *new_mac,
        };
        let t = ctx.new_identity(
            tx,
            action_id,
            NewGuest {
                node: &target,
                role: &role,
                kind: archive_kind,
                prefer: None,
                strategy: None,
                storage: Some(disk_storage.clone()),
                wish,
            },
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
            let (vg, lv) = split_volume(&ops.lvm.default_volume)?;
            let origin = find_origin(lvs, &target, &vg, &lv)?;
            let wanted = format!("pre-restore-{}", crate::timefmt::now_local("%Y-%m-%d-%H%M"));
            let (name, size) = new_snapshot(tx, ctx, &target, lvs, origin, Some(&wanted), None)?;
            steps.add(
                "target-snapshot",
                tn,
                format!(
                    "{} on {target}",
                    lvcreate_line(&vg, &lv, &name, size.as_deref())
                ),
            );
            p.safety_snapshot = Some(name);
            if let Some(size) = size {
                p.params.insert("target.size".into(), size);
            }
            p.params
                .insert("target.volume".into(), format!("{vg}/{lv}"));
        }
        steps.add(
            "prepare",
            tn,
            format!(
                "check that VMID {} is still free (then a guest with it is this restore's to remove on failure)",
                t.vmid
            ),
        );
        steps.add(
            "restore",
            tn,
            format!(
                "restore {} as vmid {} on {target}, disks on {disk_storage}, new MACs",
                short_volid(volid),
                t.vmid
            ),
        );
        steps.add("configure", tn, configure_line(&t, archive_kind));
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

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Some(t) = run.plan.targets.first().cloned() else {
                return failed(
                    &EngineError::Step("the plan has no target".into()),
                    Value::Null,
                );
            };
            match self.steps(run, &t).await {
                Ok(v) => Outcome::Succeeded(v),
                Err(e) => {
                    let cleanup = cleanup(run, self.kind, &t).await;
                    let msg = match cleanup {
                        Ok(what) => format!("{e} ({what})"),
                        Err(c) => format!("{e} (cleanup failed: {c})"),
                    };
                    failed(&EngineError::Step(msg), json!({"volid": self.volid}))
                }
            }
        })
    }
}

impl RestoreBackup {
    async fn steps(&self, run: &Run, t: &TargetPlan) -> Result<Value, EngineError> {
        let c = run.client();
        let (volid, kind) = (self.volid.as_str(), self.kind);
        let at = |s: &str| format!("{s}@{}", t.node);
        if run.has_step(&at("target-snapshot")) {
            let name = run.plan.safety_snapshot.clone().unwrap_or_default();
            let (volume, size) = (run.param("target.volume")?, run.plan.param("target.size"));
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
                LvPurpose::Safety,
            )
            .await?;
        }
        let target = GuestRef::new(&t.node, kind, t.vmid);
        let target = &target;
        // Who owns the VMID is settled before the restore task: a failed
        // qemu restore leaves its guest behind (Proxmox does not clean it
        // up), and this record is what lets the cleanup remove it.
        if run.has_step(&at("prepare")) {
            run.step(&at("prepare"), |_ctx| claim_vmid(run, t)).await?;
        }
        run.step(&at("restore"), |ctx| async move {
            if ctx.prior_upid.is_none() {
                match run.locate(t.vmid).await? {
                    Some(r)
                        if r.node.as_deref() == Some(t.node.as_str())
                            && ctx.prior_detail.is_none()
                            && r.name.as_deref() != Some(t.name.as_str())
                            && r.lock.as_deref() != Some("create") =>
                    {
                        return Err(EngineError::Step(format!(
                            "VMID {} was taken meanwhile by {}",
                            t.vmid,
                            r.name.unwrap_or_default()
                        )));
                    }
                    Some(_) => {
                        wait_unlocked(run, t.vmid).await?;
                        return Ok(Made {
                            vmid_was_free: true,
                            note: Some("restored by an earlier run".into()),
                        });
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
            ctx.task(|| c.restore(&t.node, kind, &opts)).await?;
            Ok(Made {
                vmid_was_free: true,
                note: None,
            })
        })
        .await?;
        run.step(&at("configure"), |_ctx| configure(run, target, t, None))
            .await?;
        let start = run.has_step(&at("start"));
        if start {
            run.step(&at("start"), |ctx| async move {
                if c.guest_status(target).await?.status == "running" {
                    return Ok(note("already running"));
                }
                ctx.task(|| c.power(target, Power::Start)).await?;
                Ok(done())
            })
            .await?;
        }
        run.step(&at("verify"), |_ctx| verify(run, target, t, start))
            .await?;
        let origin_vmid = archive::parse(volid).map(|a| a.vmid).unwrap_or(0);
        let origin_node = self
            .guest
            .as_ref()
            .map(|g| g.node.clone())
            .unwrap_or_else(|| run.param("node").unwrap_or_default().to_string());
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
                    settle_identity(tx, &inner.cluster, &inner.config, &t2)?;
                    crate::engine::audit::append(
                        tx,
                        &inner.owner,
                        "guest_restored",
                        Some(&id),
                        &json!({"vmid": t2.vmid, "name": t2.name, "node": t2.node, "from": vol}),
                    )?;
                    Ok(Recorded { vmid: t2.vmid })
                })
                .await
        })
        .await?;
        Ok(json!({
            "target_node": t.node, "new_resource_id": t.vmid.to_string(), "new_resource_name": t.name,
            "ip": t.ip.map(|i| i.to_string()), "mac": t.mac.map(|m| m.to_string()), "status": "success"
        }))
    }
}

/// A failed restore leaves nothing behind: the guest it made goes (Proxmox
/// leaves a failed VM restore in place), then the identities it held are
/// given back; if the guest cannot be removed, they stay reserved so that
/// nothing hands out its VMID, name or address while it is there.
async fn cleanup(run: &Run, kind: GuestKind, t: &TargetPlan) -> Result<String, EngineError> {
    let mut what = Vec::new();
    let made: Option<Made> = match run.detail_of(&format!("prepare@{}", t.node)).await {
        Ok(Some(m)) => Some(m),
        _ => run
            .detail_of(&format!("restore@{}", t.node))
            .await
            .ok()
            .flatten(),
    };
    if made.is_some_and(|m| m.vmid_was_free) && destroy_made_guest(run, kind, t).await?.is_some() {
        what.push(format!("removed the half-restored guest {}", t.vmid));
    }
    let id = run.id().to_string();
    run.engine
        .write(move |tx, inner| release_all(tx, &inner.cluster, &inner.config, &id))
        .await?;
    what.push("released its name, address and MAC".into());
    Ok(what.join("; "))
}
