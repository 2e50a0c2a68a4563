//! Addresses and metadata for front ends: the next free address, recording
//! an address for a guest, the records, reconciling them with the cluster,
//! and what proxdeck knows about a guest. Each reads the cluster the same
//! way (`refresh_inventory`), so records never disagree with what was shown.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::core::Engine;
use super::error::EngineError;
use crate::inventory::Inventory;
use crate::ipam::alloc::Ipam;
use crate::ipam::reconcile::ReconcileReport;
use crate::ipam::{AllocState, Allocation, LiveAddresses, MacWanted, ReserveRequest};
use crate::macaddr::MacAddr;
use crate::metadata::ResourceMetadata;
use crate::pve::GuestKind;

/// The next free address on a node for a guest type, as the design shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextIp {
    pub ip: Ipv4Addr,
    pub gateway: Ipv4Addr,
    /// With `reserve`: the MAC held with it and the record's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<i64>,
}

/// What `ip release` gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseWhat {
    Address(Ipv4Addr),
    /// Every record of a guest that no longer exists.
    Guest(u32),
}

impl std::fmt::Display for ReleaseWhat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReleaseWhat::Address(ip) => write!(f, "{ip}"),
            ReleaseWhat::Guest(v) => write!(f, "guest {v}"),
        }
    }
}

/// An address to record for an existing guest.
#[derive(Debug, Clone)]
pub struct AddressRequest {
    /// The guest, by name or VMID.
    pub guest: String,
    /// When given, must be the guest's.
    pub kind: Option<GuestKind>,
    /// When given, must be the guest's node (either name form).
    pub node: Option<String>,
    pub ip: Ipv4Addr,
    /// None: the scheme's MAC.
    pub mac: Option<MacAddr>,
    pub hostname: Option<String>,
    /// Who asks (for the record).
    pub by: String,
}

impl Engine {
    /// The next free address of `node`'s range for `kind`, checked against
    /// the live cluster; `reserve` holds it (and a MAC) until released.
    pub async fn next_ip(
        &self,
        node: &str,
        kind: GuestKind,
        reserve: bool,
        by: &str,
        live: &LiveAddresses,
    ) -> Result<NextIp, EngineError> {
        let (node, by, live) = (node.to_string(), by.to_string(), live.clone());
        self.write(move |tx, inner| {
            let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
            if reserve {
                let mut req = ReserveRequest::new(&node, kind, &by);
                req.state = AllocState::Reserved;
                let a = ipam.reserve(tx, &req, &live)?;
                let gw = crate::ipam::ranges::subnet_of(&inner.config.naming, &node)?
                    .1
                    .gateway;
                Ok(NextIp {
                    ip: a.ip,
                    gateway: gw,
                    mac: a.mac,
                    reservation_id: Some(a.id),
                })
            } else {
                let (ip, gateway) = ipam.next_ip(tx, &node, kind, &live)?;
                Ok(NextIp {
                    ip,
                    gateway,
                    mac: None,
                    reservation_id: None,
                })
            }
        })
        .await
    }

    /// Record a static address (and MAC, hostname) for an existing guest:
    /// refused under read-only and for a self-protected guest, checked
    /// against the guest as the cluster has it, and audited.
    pub async fn assign_address(
        &self,
        req: AddressRequest,
        inv: &Inventory,
    ) -> Result<Allocation, EngineError> {
        let policy = self.policy();
        if policy.read_only {
            return Err(EngineError::Policy {
                rule: "read_only".into(),
                reason: "proxdeck runs read-only: no address is recorded".into(),
            });
        }
        let g = inv
            .find(&req.guest)
            .ok_or_else(|| EngineError::UnknownGuest(req.guest.clone()))?;
        if let Some(k) = req.kind.filter(|k| *k != g.kind) {
            return Err(EngineError::Invalid(format!(
                "{} is a {}, not a {}",
                g.name,
                g.kind.noun(),
                k.noun()
            )));
        }
        if let Some(n) = &req.node {
            let wanted = self.pve_name(n);
            if wanted != g.node {
                return Err(EngineError::Invalid(format!(
                    "{} is on {}, not {wanted}",
                    g.name, g.node
                )));
            }
        }
        let sel = super::action::GuestSel::of(g);
        if let Some((rule, why)) = crate::policy::protection(policy.policies, &sel) {
            return Err(EngineError::Policy {
                rule: format!("self_protection.{}", rule.name),
                reason: format!("{sel} is protected by rule '{}': {why}", rule.name),
            });
        }
        if let Some(h) = &req.hostname {
            crate::naming::check_hostname(h).map_err(EngineError::Invalid)?;
        }
        let live = LiveAddresses::from_inventory(inv);
        let (vmid, kind, node, name) = (g.vmid, g.kind, g.node.clone(), g.name.clone());
        self.write(move |tx, inner| {
            let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
            let mut r = ReserveRequest::new(&node, kind, &req.by);
            r.vmid = Some(vmid);
            r.ip = Some(req.ip);
            r.hostname = req.hostname.as_deref();
            r.name = Some(&name);
            r.mac = req.mac.map(MacWanted::Given).unwrap_or(MacWanted::Auto);
            r.state = AllocState::Active;
            let a = ipam.reserve(tx, &r, &live)?;
            super::audit::append(
                tx,
                &req.by,
                "address_assigned",
                None,
                &serde_json::json!({"vmid": vmid, "name": name, "ip": a.ip, "mac": a.mac, "node": a.node}),
            )?;
            Ok(a)
        })
        .await
    }

    /// Give back addresses by hand (`ip release`): every record of a guest
    /// that is gone, or one address. An address a live guest still carries
    /// is refused (change the guest first). Audited; the records stay, as
    /// released, for history.
    pub async fn release_addresses(
        &self,
        what: ReleaseWhat,
        inv: &Inventory,
        by: &str,
    ) -> Result<Vec<Allocation>, EngineError> {
        if self.policy().read_only {
            return Err(EngineError::Policy {
                rule: "read_only".into(),
                reason: "proxdeck runs read-only: no address is released".into(),
            });
        }
        let live = LiveAddresses::from_inventory(inv);
        let by = by.to_string();
        let inv_vmids: std::collections::HashSet<u32> = inv.guests.iter().map(|g| g.vmid).collect();
        self.write(move |tx, inner| {
            let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
            let held = ipam.list(tx, None, false)?;
            let chosen: Vec<Allocation> = held
                .into_iter()
                .filter(|a| match &what {
                    ReleaseWhat::Address(ip) => a.ip == *ip,
                    ReleaseWhat::Guest(v) => a.vmid == Some(*v),
                })
                .collect();
            if chosen.is_empty() {
                return Err(EngineError::NothingToDo(format!("no address record held for {what}")));
            }
            for a in &chosen {
                if let Some(h) = live.ip_holder(a.ip, None) {
                    return Err(EngineError::NotPossible(format!(
                        "{} is configured on {h}: change the guest first, then release it",
                        a.ip
                    )));
                }
                if let ReleaseWhat::Guest(v) = &what
                    && inv_vmids.contains(v)
                {
                    return Err(EngineError::NotPossible(format!(
                        "guest {v} still exists: release one address with `ip release IP`, or delete the guest"
                    )));
                }
            }
            for a in &chosen {
                ipam.release(tx, a.id)?;
            }
            super::audit::append(
                tx,
                &by,
                "addresses_released",
                None,
                &serde_json::json!({"what": what.to_string(), "ips": chosen.iter().map(|a| a.ip.to_string()).collect::<Vec<_>>()}),
            )?;
            Ok(chosen)
        })
        .await
    }

    /// Address records, newest state per address; released ones when asked.
    pub async fn addresses(
        &self,
        node: Option<&str>,
        include_released: bool,
    ) -> Result<Vec<Allocation>, EngineError> {
        let node = node.map(str::to_string);
        self.read(move |c, inner| {
            Ok(Ipam::new(&inner.cluster, &inner.config.naming).list(
                c,
                node.as_deref(),
                include_released,
            )?)
        })
        .await
    }

    /// Import the addresses live guests use, release what they no longer
    /// use, and report conflicts (metadata brought up to date too).
    pub async fn reconcile_addresses(
        &self,
        inv: &Inventory,
    ) -> Result<ReconcileReport, EngineError> {
        let inv = inv.clone();
        self.write(move |tx, inner| {
            let conv = crate::naming::Convention::new(&inner.config.naming);
            crate::metadata::sync(tx, &inner.cluster, &conv, &inv)?;
            Ok(Ipam::new(&inner.cluster, &inner.config.naming).reconcile(tx, &inv)?)
        })
        .await
    }

    /// What proxdeck knows about a guest (after the last refresh).
    pub async fn metadata(&self, vmid: u32) -> Result<Option<ResourceMetadata>, EngineError> {
        self.read(move |c, inner| Ok(crate::metadata::get(c, &inner.cluster, vmid)?))
            .await
    }
}

impl Engine {
    /// Identities held by plans not yet finished: (addresses, names).
    pub async fn reservations_held(&self) -> Result<(i64, i64), EngineError> {
        self.read(|c, inner| {
            let ips: i64 = c.query_row(
                "SELECT count(*) FROM ip_allocations WHERE cluster = ?1 AND state = 'reserved'",
                [&inner.cluster],
                |r| r.get(0),
            )?;
            let names: i64 = c.query_row(
                "SELECT count(*) FROM name_reservations WHERE cluster = ?1 AND state = 'reserved'",
                [&inner.cluster],
                |r| r.get(0),
            )?;
            Ok((ips, names))
        })
        .await
    }
}
