//! A new guest's network identity: set (name or hostname, MAC, address,
//! gateway, nameserver; every other NIC setting kept), read back and
//! compared with the plan, then settled in the database.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::error::EngineError;
use crate::engine::plan::TargetPlan;
use crate::engine::workflows::Run;
use crate::ipam::alloc::Ipam;
use crate::pve::propstring::{IpConfig, IpSetting, LxcNet, QemuNet};
use crate::pve::requests::ConfigChange;
use crate::pve::{GuestKind, GuestRef};

/// What a configure step set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configured {
    pub ip: String,
    pub mac: String,
}

/// What a verify step found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub verified: bool,
}

/// The plan's address as CIDR, or an error saying the plan has none.
pub fn planned_cidr(t: &TargetPlan) -> Result<ipnet::Ipv4Net, EngineError> {
    let ip =
        t.ip.ok_or_else(|| EngineError::Step(format!("the plan for {} has no address", t.node)))?;
    ipnet::Ipv4Net::new(ip, t.prefix_len).map_err(|e| EngineError::Step(e.to_string()))
}

/// Set the new guest's name and network, keeping every other NIC setting.
pub async fn configure(run: &Run, g: &GuestRef, t: &TargetPlan) -> Result<Configured, EngineError> {
    let c = run.client();
    let cfg = c.guest_config(g).await?;
    let cidr = planned_cidr(t)?;
    let mac = t
        .mac
        .ok_or_else(|| EngineError::Step(format!("the plan for {} has no MAC", t.node)))?;
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
        }
    }
    if let Some(ns) = &t.nameserver {
        change = change.set("nameserver", ns);
    }
    c.set_config(g, &change).await?;
    Ok(Configured {
        ip: cidr.to_string(),
        mac: mac.to_string(),
    })
}

/// Read the config back: name, MAC and address must be what the plan says.
pub async fn verify(
    run: &Run,
    g: &GuestRef,
    t: &TargetPlan,
    running: bool,
) -> Result<Verified, EngineError> {
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
    let nic = nics.first();
    if nic.and_then(|n| n.mac) != t.mac {
        problems.push(format!(
            "MAC is {:?}",
            nic.and_then(|n| n.mac).map(|m| m.to_string())
        ));
    }
    if nic.and_then(|n| n.address()) != t.ip {
        problems.push(format!(
            "address is {:?}",
            nic.and_then(|n| n.address()).map(|i| i.to_string())
        ));
    }
    if running && c.guest_status(g).await?.status != "running" {
        problems.push("it is not running".into());
    }
    if problems.is_empty() {
        Ok(Verified { verified: true })
    } else {
        Err(EngineError::Step(format!(
            "{} on {} does not match the plan: {}",
            t.name,
            t.node,
            problems.join(", ")
        )))
    }
}

/// The new guest exists: its metadata gets its identity, its address
/// becomes active and its name reservation used.
pub fn settle_identity(
    tx: &rusqlite::Transaction<'_>,
    cluster: &str,
    config: &Config,
    t: &TargetPlan,
) -> Result<(), EngineError> {
    crate::metadata::set_identity(tx, cluster, t.vmid, &t.name, t.ip, t.mac, &t.hostname)?;
    if let Some(a) = t.ip_allocation {
        Ipam::new(cluster, &config.naming).activate(tx, a, t.vmid)?;
    }
    if let Some(n) = t.name_reservation {
        crate::naming::reserve::mark_used(tx, n)?;
    }
    Ok(())
}
