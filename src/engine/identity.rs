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

/// An address to record for an existing guest.
#[derive(Debug, Clone)]
pub struct AddressRequest {
    pub vmid: u32,
    pub kind: GuestKind,
    pub node: String,
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

    /// Record a static address (and MAC, hostname) for an existing guest.
    pub async fn assign_address(
        &self,
        req: AddressRequest,
        live: &LiveAddresses,
    ) -> Result<Allocation, EngineError> {
        let live = live.clone();
        self.write(move |tx, inner| {
            let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
            let mut r = ReserveRequest::new(&req.node, req.kind, &req.by);
            r.vmid = Some(req.vmid);
            r.ip = Some(req.ip);
            r.hostname = req.hostname.as_deref();
            r.name = req.hostname.as_deref();
            r.mac = req.mac.map(MacWanted::Given).unwrap_or(MacWanted::Auto);
            r.state = AllocState::Active;
            Ok(ipam.reserve(tx, &r, &live)?)
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
