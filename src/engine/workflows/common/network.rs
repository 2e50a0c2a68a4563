//! A new guest's network identity: set (name or hostname, MAC, address,
//! gateway, nameserver; every other NIC setting kept), read back and
//! compared with the plan, then settled in the database.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::error::EngineError;
use crate::engine::plan::{Delivery, TargetPlan};
use crate::engine::workflows::Run;
use crate::ipam::alloc::Ipam;
use crate::pve::propstring::{IpConfig, IpSetting, LxcNet, QemuNet};
use crate::pve::requests::ConfigChange;
use crate::pve::types::GuestConfig;
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
    /// `manual`: the address is reserved but not set by Proxmox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The plan's address as CIDR, or an error saying the plan has none.
pub fn planned_cidr(t: &TargetPlan) -> Result<ipnet::Ipv4Net, EngineError> {
    let ip =
        t.ip.ok_or_else(|| EngineError::Step(format!("the plan for {} has no address", t.node)))?;
    ipnet::Ipv4Net::new(ip, t.prefix_len).map_err(|e| EngineError::Step(e.to_string()))
}

/// How the address reaches this guest: as planned, or (a plan that did not
/// say) as its config shows.
pub fn delivery_of(kind: GuestKind, planned: Option<Delivery>, cfg: &GuestConfig) -> Delivery {
    planned.unwrap_or_else(|| Delivery::of(kind, cfg.has_cloudinit()))
}

/// The change that puts MAC and address on the first NIC, every other NIC
/// setting kept; against the config's digest, so a concurrent edit is
/// refused by Proxmox instead of overwritten. A VM's address goes into
/// `ipconfig0` only with a cloud-init drive; without one a stale
/// `ipconfig0` (copied from a source) is removed rather than left to claim
/// an address the guest does not have.
pub fn net_change(
    kind: GuestKind,
    cfg: &GuestConfig,
    delivery: Delivery,
    mac: crate::macaddr::MacAddr,
    cidr: ipnet::Ipv4Net,
    t: &TargetPlan,
) -> ConfigChange {
    let mut change = ConfigChange {
        digest: cfg.digest().map(str::to_string),
        ..Default::default()
    };
    match kind {
        GuestKind::Qemu => {
            let mut net = cfg
                .qemu_net(0)
                .unwrap_or_else(|| QemuNet::new("virtio", mac, &t.bridge));
            net.set_mac(mac);
            change = change.set("net0", net.to_string());
            if delivery == Delivery::CloudInit {
                change = change.set(
                    "ipconfig0",
                    IpConfig::new(IpSetting::Static(cidr), t.gateway).to_string(),
                );
            } else if cfg.get("ipconfig0").is_some() {
                change.delete.push("ipconfig0".into());
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
            change = change.set("net0", net.to_string());
        }
    }
    change
}

/// Set the new guest's name and network, keeping every other NIC setting
/// (and its description, when given: a replica's carries its marker).
pub async fn configure(
    run: &Run,
    g: &GuestRef,
    t: &TargetPlan,
    description: Option<&str>,
) -> Result<Configured, EngineError> {
    let c = run.client();
    let cfg = c.guest_config(g).await?;
    let cidr = planned_cidr(t)?;
    let mac = t
        .mac
        .ok_or_else(|| EngineError::Step(format!("the plan for {} has no MAC", t.node)))?;
    let delivery = delivery_of(g.kind, t.delivery, &cfg);
    let mut change = net_change(g.kind, &cfg, delivery, mac, cidr, t);
    change = match g.kind {
        GuestKind::Qemu => change.set("name", &t.name),
        GuestKind::Lxc => change.set("hostname", &t.hostname),
    };
    if let Some(ns) = t
        .nameserver
        .as_ref()
        .filter(|_| delivery != Delivery::Manual)
    {
        change = change.set("nameserver", ns);
    }
    if let Some(d) = description {
        change = change.set("description", d);
    }
    c.set_config(g, &change).await?;
    Ok(Configured {
        ip: cidr.to_string(),
        mac: mac.to_string(),
    })
}

/// Read the config back (with pending changes: what the guest's next start
/// uses): name, MAC and, where Proxmox sets it, the address must be what
/// the plan says.
pub async fn verify(
    run: &Run,
    g: &GuestRef,
    t: &TargetPlan,
    running: bool,
) -> Result<Verified, EngineError> {
    let c = run.client();
    let cfg = c.guest_config(g).await?;
    let delivery = delivery_of(g.kind, t.delivery, &cfg);
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
    if delivery != Delivery::Manual && nic.and_then(|n| n.address()) != t.ip {
        problems.push(format!(
            "address is {:?}",
            nic.and_then(|n| n.address()).map(|i| i.to_string())
        ));
    }
    if delivery == Delivery::CloudInit && !cfg.has_cloudinit() {
        problems.push("its cloud-init drive is gone".into());
    }
    if running && c.guest_status(g).await?.status != "running" {
        problems.push("it is not running".into());
    }
    if problems.is_empty() {
        Ok(Verified {
            verified: true,
            address: (delivery == Delivery::Manual).then(|| "manual".into()),
        })
    } else {
        Err(EngineError::Step(format!(
            "{} on {} does not match the plan: {}",
            t.name,
            t.node,
            problems.join(", ")
        )))
    }
}

/// When a change to a guest's network takes effect: a stopped guest or a
/// container at once; a running VM's `ipconfig0` at its next boot (when
/// cloud-init reads it), and its NIC then too when it does not hot-plug
/// NICs (the running config still shows the old one).
pub async fn applies(run: &Run, g: &GuestRef, delivery: Delivery) -> Result<Applies, EngineError> {
    if delivery == Delivery::Manual {
        return Ok(Applies::Manual);
    }
    let c = run.client();
    if g.kind == GuestKind::Lxc || c.guest_status(g).await?.status != "running" {
        return Ok(Applies::Now);
    }
    if delivery == Delivery::CloudInit {
        return Ok(Applies::NextBoot);
    }
    let (next, now) = (c.guest_config(g).await?, c.guest_config_current(g).await?);
    Ok(if next.get("net0") == now.get("net0") {
        Applies::Now
    } else {
        Applies::NextBoot
    })
}

/// When a network change reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    Now,
    NextBoot,
    /// Proxmox cannot set it (a VM without cloud-init).
    Manual,
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
