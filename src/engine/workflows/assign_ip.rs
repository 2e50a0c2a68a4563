//! Give an existing guest a static address: safety snapshot (network change),
//! config update with the new address and MAC, read back, record.

use serde_json::{Value, json};

use super::{Outcome, Run, failed};
use crate::engine::action::GuestSel;
use crate::engine::catalog::{self, Purpose};
use crate::engine::error::EngineError;
use crate::ipam::alloc::Ipam;
use crate::pve::propstring::{IpConfig, IpSetting, LxcNet, QemuNet};
use crate::pve::requests::{ConfigChange, SnapshotOptions};
use crate::pve::{GuestKind, GuestRef};

pub async fn run(run: &Run, g: &GuestSel) -> Outcome {
    let c = run.client();
    let r = GuestRef::new(&g.node, g.kind, g.vmid);
    let r = &r;
    let Some(t) = run.plan.targets.first().cloned() else {
        return Outcome::Failed {
            error: "the plan has no address".into(),
            result: Value::Null,
        };
    };
    let safety = run.plan.safety_snapshot.clone();
    let result: Result<(), EngineError> = async {
        if let Some(s) = &safety {
            run.step("safety-snapshot", |ctx| async move {
                if ctx.prior_upid.is_none() && c.snapshots(r).await?.iter().any(|x| &x.name == s) {
                    return Ok(Value::Null);
                }
                let opts = SnapshotOptions { snapname: s.clone(), description: Some(format!("before a network change (proxdeck {})", run.id())), vmstate: None };
                ctx.task(|| c.create_snapshot(r, &opts)).await?;
                Ok(Value::Null)
            })
            .await?;
            let (g2, s2, id) = (g.clone(), s.clone(), run.id().to_string());
            run.engine
                .write(move |tx, inner| {
                    let made = catalog::Made { node: &g2.node, vmid: g2.vmid, name: &s2, description: None, purpose: Purpose::Safety, action_id: &id };
                    catalog::record_created(tx, &inner.cluster, &made)?;
                    Ok(())
                })
                .await?;
        }
        let (Some(ip), Some(mac)) = (t.ip, t.mac) else {
            return Err(EngineError::Plan("the plan has no address".into()));
        };
        let cidr = ipnet::Ipv4Net::new(ip, t.prefix_len).map_err(|e| EngineError::Plan(e.to_string()))?;
        run.step("configure", |_ctx| async move {
            let cfg = c.guest_config(r).await?;
            let change = match g.kind {
                GuestKind::Qemu => {
                    let mut net = cfg.qemu_net(0).unwrap_or_else(|| QemuNet::new("virtio", mac, &t.bridge));
                    net.set_mac(mac);
                    ConfigChange::default()
                        .set("net0", net.to_string())
                        .set("ipconfig0", IpConfig::new(IpSetting::Static(cidr), t.gateway).to_string())
                }
                GuestKind::Lxc => {
                    let mut net = cfg.lxc_net(0).unwrap_or_else(|| LxcNet::new("eth0", &t.bridge, mac, IpSetting::Static(cidr), t.gateway));
                    net.set_mac(mac);
                    net.set_ip(IpSetting::Static(cidr));
                    if let Some(gw) = t.gateway {
                        net.set_gw(gw);
                    }
                    ConfigChange::default().set("net0", net.to_string()).set("hostname", &t.hostname)
                }
            };
            c.set_config(r, &change).await?;
            Ok(json!({"ip": cidr.to_string(), "mac": mac.to_string()}))
        })
        .await?;
        run.step("verify", |_ctx| async move {
            let cfg = c.guest_config(r).await?;
            let nics = crate::inventory::nics_of(g.kind, &cfg);
            let nic = nics.first();
            if nic.and_then(|n| n.address()) != Some(ip) || nic.and_then(|n| n.mac) != Some(mac) {
                return Err(EngineError::Plan(format!(
                    "{} does not carry {ip} / {mac} after the change",
                    g.name
                )));
            }
            Ok(json!({"verified": true}))
        })
        .await?;
        let (a, vmid, node) = (t.ip_allocation, g.vmid, t.node.clone());
        run.step("record", |_ctx| async move {
            run.engine
                .write(move |tx, inner| {
                    let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                    let node_short = inner.config.naming.node(&node).map(|n| n.name.clone()).unwrap_or(node.clone());
                    // Earlier addresses of this guest on its node give way.
                    tx.execute(
                        "UPDATE ip_allocations SET state = 'released', released_at = strftime('%s','now')
                         WHERE cluster = ?1 AND vmid = ?2 AND node = ?3 AND state IN ('active', 'observed') AND id != ?4",
                        rusqlite::params![inner.cluster, vmid, node_short, a.unwrap_or(-1)],
                    )?;
                    if let Some(a) = a {
                        ipam.activate(tx, a, vmid)?;
                    }
                    tx.execute(
                        "UPDATE resource_metadata SET ip = ?3, mac = ?4 WHERE cluster = ?1 AND vmid = ?2",
                        rusqlite::params![inner.cluster, vmid, ip.to_string(), mac.to_string()],
                    )?;
                    Ok(json!({"active": a}))
                })
                .await
        })
        .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Outcome::Succeeded(json!({"guest": g.vmid, "ip": t.ip, "mac": t.mac})),
        Err(e) => {
            let rollback = run
                .engine
                .config()
                .policies
                .safety_snapshots
                .rollback_on_failure;
            match (&safety, rollback, &e) {
                (Some(s), true, err) if !matches!(err, EngineError::Cancelled) => {
                    let back = async {
                        let up = c.rollback(r, s, None).await?;
                        c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
                        Ok::<_, EngineError>(())
                    }
                    .await;
                    match back {
                        Ok(()) => Outcome::RolledBack {
                            error: format!("{e}; rolled back to the safety snapshot {s}"),
                            result: json!({"guest": g.vmid}),
                        },
                        Err(b) => failed(
                            &EngineError::Plan(format!("{e}; rolling back to {s} failed too: {b}")),
                            json!({"guest": g.vmid}),
                        ),
                    }
                }
                _ => failed(&e, json!({"guest": g.vmid})),
            }
        }
    }
}
