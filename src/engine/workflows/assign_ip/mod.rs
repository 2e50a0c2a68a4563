//! Give an existing guest a static address: safety snapshot (a network
//! change), the config updated with the new address and MAC, read back,
//! recorded (earlier addresses of the guest on its node given back).

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::guest::gref;
use super::common::network::{Applies, Configured, applies, delivery_of, net_change, planned_cidr};
use super::common::safety::{SnapshotSpec, back_to_safety, take_snapshot};
use super::{Outcome, Run, Workflow, failed};
use crate::action_kind::ActionKind;
use crate::config::policies::SafetyTrigger;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Delivery, Plan, PlanContext, StepList, TargetPlan, snapshot_name};
use crate::engine::snapshot_catalog::Purpose;
use crate::ipam::alloc::Ipam;
use crate::ipam::ranges::subnet_of;
use crate::ipam::{MacWanted, ReserveRequest};
use crate::macaddr::MacAddr;
use crate::policy::Policy;
use crate::pve::GuestKind;
use std::net::Ipv4Addr;

/// Give a guest a static address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignStaticIp {
    pub guest: GuestSel,
    /// None: the next free address of the guest's node and type.
    pub ip: Option<Ipv4Addr>,
    /// None: the guest's own MAC, else one by the scheme.
    pub mac: Option<MacAddr>,
    pub hostname: Option<String>,
}

/// What the verify step found: the config carries the address, and when
/// the guest will use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AddressCheck {
    verified: bool,
    applies: Applies,
}

/// What the record step made active.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Recorded {
    active: Option<i64>,
}

impl Workflow for AssignStaticIp {
    fn name(&self) -> &'static str {
        "assign-ip"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::AssignStaticIp
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "ip"
    }

    fn describe(&self) -> String {
        format!(
            "assign {} to {}",
            self.ip
                .map(|i| i.to_string())
                .unwrap_or_else(|| "the next free address".into()),
            self.guest.name
        )
    }

    fn safety_trigger(&self) -> Option<SafetyTrigger> {
        Some(SafetyTrigger::NetworkChange)
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        if let Some(h) = &self.hostname {
            crate::naming::check_hostname(h).map_err(EngineError::Invalid)?;
        }
        if let Some(why) = self.mac.and_then(|m| m.unusable()) {
            return Err(EngineError::Invalid(format!(
                "MAC {} is {why}: a NIC needs a unicast address",
                self.mac.map(|m| m.to_string()).unwrap_or_default()
            )));
        }
        if g.nics.is_empty() {
            return Err(EngineError::NotPossible(format!(
                "{} has no network interface to configure",
                g.name
            )));
        }
        let (entry, subnet) = subnet_of(&ctx.config.naming, &g.node)?;
        let ipam = Ipam::new(ctx.cluster, &ctx.config.naming);
        let mut req = ReserveRequest::new(&entry.name, g.kind, ctx.actor);
        req.vmid = Some(g.vmid);
        req.name = Some(&g.name);
        let host = self
            .hostname
            .clone()
            .unwrap_or_else(|| g.hostname.clone().unwrap_or_else(|| g.name.clone()));
        req.hostname = Some(&host);
        req.ip = self.ip;
        req.mac = match self.mac.or(g.primary_mac()) {
            Some(m) => MacWanted::Given(m),
            None => MacWanted::Auto,
        };
        req.action_id = Some(action_id);
        let a = ipam.reserve(tx, &req, ctx.live)?;
        let mut steps = StepList::default();
        let policy = Policy::new(&ctx.config.policies, &ctx.config.naming, ctx.read_only);
        let mut safety = None;
        if policy.wants_safety_snapshot(self) {
            let n = snapshot_name(
                &ctx.config.policies.safety_snapshots.name_pattern,
                "-pre-ip",
                action_id,
            );
            steps.add(
                "safety-snapshot",
                None,
                format!("safety snapshot {n} before the network change"),
            );
            safety = Some(n);
        }
        let delivery = Delivery::of(g.kind, g.has_cloudinit());
        let mac_text = a.mac.map(|m| m.to_string()).unwrap_or_default();
        steps.add(
            "configure",
            None,
            match delivery {
                Delivery::Container => format!(
                    "set net0 {}/{} gw {} MAC {mac_text} on {}",
                    a.ip,
                    subnet.subnet.prefix_len(),
                    subnet.gateway,
                    g.name
                ),
                Delivery::CloudInit => format!(
                    "set ipconfig0 {}/{} gw {} and MAC {mac_text} on {}{}",
                    a.ip,
                    subnet.subnet.prefix_len(),
                    subnet.gateway,
                    g.name,
                    if g.is_running() {
                        " (cloud-init applies it at the next boot)"
                    } else {
                        ""
                    }
                ),
                Delivery::Manual => format!(
                    "set MAC {mac_text} on {}; {} is reserved for it, not set (no cloud-init drive)",
                    g.name, a.ip
                ),
            },
        );
        steps.add("verify", None, "read the config back");
        steps.add("record", None, "make the address active in the database");
        let mut p = Plan::new(format!(
            "Assign {}/{} to {} ({} {} on {})",
            a.ip,
            subnet.subnet.prefix_len(),
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node
        ));
        p.steps = steps.into_steps();
        p.safety_snapshot = safety;
        p.notes.extend(delivery.explain(&g.name, Some(a.ip), a.mac));
        if delivery == Delivery::CloudInit && g.is_running() {
            p.notes.push(format!(
                "{} is running: cloud-init gives it {} only when it next boots; until then it keeps its current address",
                g.name, a.ip
            ));
        }
        p.targets.push(TargetPlan {
            node: g.node.clone(),
            vmid: g.vmid,
            name: g.name.clone(),
            hostname: host,
            ip: Some(a.ip),
            prefix_len: subnet.subnet.prefix_len(),
            gateway: Some(subnet.gateway),
            mac: a.mac,
            bridge: subnet.bridge.clone(),
            nameserver: None,
            strategy: None,
            storage: None,
            ip_allocation: Some(a.id),
            name_reservation: None,
            from_snapshot: None,
            eject: Vec::new(),
            delivery: Some(delivery),
        });
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let Some(t) = run.plan.targets.first().cloned() else {
                return failed(
                    &EngineError::Step("the plan has no address".into()),
                    json!({"guest": g.vmid}),
                );
            };
            let safety = run.plan.safety_snapshot.clone();
            match steps(run, g, &t, safety.as_deref()).await {
                Ok(applies) => Outcome::Succeeded(
                    json!({"guest": g.vmid, "ip": t.ip, "mac": t.mac, "applies": applies}),
                ),
                // Proxmox refused the parameters: nothing changed, so there
                // is nothing to roll back (a rollback would only stop the guest).
                Err(e @ EngineError::Pve(crate::pve::PveError::BadRequest { .. })) => failed(
                    &EngineError::Step(format!("{e} (nothing was changed)")),
                    json!({"guest": g.vmid}),
                ),
                Err(e) => {
                    back_to_safety(run, g, safety.as_deref(), e, json!({"guest": g.vmid})).await
                }
            }
        })
    }
}

async fn steps(
    run: &Run,
    g: &GuestSel,
    t: &TargetPlan,
    safety: Option<&str>,
) -> Result<Applies, EngineError> {
    let c = run.client();
    let r = gref(g);
    let r = &r;
    if let Some(s) = safety {
        let desc = format!("before a network change (proxdeck {})", run.id());
        let spec = SnapshotSpec {
            guest: g,
            name: s,
            description: Some(&desc),
            vmstate: false,
            purpose: Purpose::Safety,
        };
        take_snapshot(run, "safety-snapshot", spec).await?;
    }
    let cidr = planned_cidr(t)?;
    let (ip, mac) = (
        cidr.addr(),
        t.mac
            .ok_or_else(|| EngineError::Step("the plan has no MAC".into()))?,
    );
    run.step("configure", |_ctx| async move {
        let cfg = c.guest_config(r).await?;
        let delivery = delivery_of(g.kind, t.delivery, &cfg);
        let mut change = net_change(g.kind, &cfg, delivery, mac, cidr, t);
        if g.kind == GuestKind::Lxc {
            change = change.set("hostname", &t.hostname);
        }
        c.set_config(r, &change).await?;
        Ok(Configured {
            ip: cidr.to_string(),
            mac: mac.to_string(),
        })
    })
    .await?;
    let checked = run
        .step("verify", |_ctx| async move {
            let cfg = c.guest_config(r).await?;
            let delivery = delivery_of(g.kind, t.delivery, &cfg);
            let nics = crate::inventory::nics_of(g.kind, &cfg);
            let nic = nics.first();
            let ip_ok = delivery == Delivery::Manual || nic.and_then(|n| n.address()) == Some(ip);
            if !ip_ok || nic.and_then(|n| n.mac) != Some(mac) {
                return Err(EngineError::Step(format!(
                    "{} does not carry {ip} / {mac} after the change",
                    g.name
                )));
            }
            Ok(AddressCheck {
                verified: true,
                applies: applies(run, r, delivery).await?,
            })
        })
        .await?;
    let (a, vmid, node) = (t.ip_allocation, g.vmid, t.node.clone());
    run.step("record", |_ctx| async move {
        run.engine
            .write(move |tx, inner| {
                let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                let node_short = inner
                    .config
                    .naming
                    .node(&node)
                    .map(|n| n.name.clone())
                    .unwrap_or(node.clone());
                // Earlier addresses of this guest on its node give way.
                ipam.release_others(tx, vmid, &node_short, a)?;
                if let Some(a) = a {
                    ipam.activate(tx, a, vmid)?;
                }
                crate::metadata::set_address(tx, &inner.cluster, vmid, ip, mac)?;
                Ok(Recorded { active: a })
            })
            .await
    })
    .await?;
    Ok(checked.applies)
}
