//! IP address management per node subnet and guest type, MAC generation, and
//! reconciliation with the addresses a real cluster already uses.
//!
//! Every allocation, assignment and release is one `BEGIN IMMEDIATE`
//! transaction; the schema's partial unique indexes make a duplicate active IP
//! (per subnet) or MAC impossible even if two processes race.

pub mod alloc;
pub mod live;
pub mod mac;
pub mod ranges;
pub mod reconcile;
mod taken;

use std::fmt;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::macaddr::MacAddr;
use crate::pve::types::GuestKind;
use crate::store::StoreError;

pub use alloc::{MacWanted, ReserveRequest};
pub use live::{Holder, LiveAddresses};

/// The life of an address record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AllocState {
    /// Held for a workflow that is still running.
    Reserved,
    /// Assigned to a guest.
    Active,
    /// Seen on a live guest; imported by reconciliation.
    Observed,
    Released,
}

impl AllocState {
    pub fn as_str(self) -> &'static str {
        match self {
            AllocState::Reserved => "reserved",
            AllocState::Active => "active",
            AllocState::Observed => "observed",
            AllocState::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<AllocState> {
        match s {
            "reserved" => Some(AllocState::Reserved),
            "active" => Some(AllocState::Active),
            "observed" => Some(AllocState::Observed),
            "released" => Some(AllocState::Released),
            _ => None,
        }
    }
}

/// One record of `ip_allocations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub id: i64,
    pub node: String,
    pub subnet: String,
    pub ip: Ipv4Addr,
    pub kind: GuestKind,
    pub vmid: Option<u32>,
    pub resource_name: Option<String>,
    pub mac: Option<MacAddr>,
    pub hostname: Option<String>,
    pub state: AllocState,
    pub allocated_at: i64,
    pub released_at: Option<i64>,
    pub allocated_by: String,
    pub action_id: Option<String>,
}

impl Allocation {
    /// Who holds the address, for error messages.
    pub fn holder(&self) -> String {
        let who = match (&self.resource_name, self.vmid) {
            (Some(n), Some(v)) => format!("{n} (vmid {v})"),
            (Some(n), None) => n.clone(),
            (None, Some(v)) => format!("vmid {v}"),
            (None, None) => "an unnamed reservation".into(),
        };
        let how = match self.state {
            AllocState::Reserved => format!(
                "reserved{}",
                self.action_id
                    .as_ref()
                    .map(|a| format!(" by action {a}"))
                    .unwrap_or_default()
            ),
            AllocState::Active => "assigned".into(),
            AllocState::Observed => "seen on the live guest".into(),
            AllocState::Released => "released".into(),
        };
        format!("{who}, {how}")
    }
}

/// Which range of a node's subnet a guest type draws from.
pub fn type_name(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "LXC",
    }
}

/// Why an address or MAC could not be had.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("unknown node '{0}' (not listed in naming-conventions.yml)")]
    UnknownNode(String),
    #[error("node '{0}' has no subnet in naming-conventions.yml (ip_ranges)")]
    NoSubnet(String),
    #[error("range exhausted: no free {kind} address on {node} in {range}")]
    Exhausted {
        node: String,
        kind: &'static str,
        range: String,
    },
    #[error("{ip} is outside {node}'s subnet {subnet}")]
    OutsideSubnet {
        ip: Ipv4Addr,
        node: String,
        subnet: String,
    },
    #[error("{ip} is outside {node}'s {kind} range {range}")]
    OutsideRange {
        ip: Ipv4Addr,
        node: String,
        kind: &'static str,
        range: String,
    },
    #[error("{ip} is the gateway of {node}")]
    Gateway { ip: Ipv4Addr, node: String },
    #[error("{ip} is a reserved address of {node}")]
    ReservedAddress { ip: Ipv4Addr, node: String },
    #[error("{ip} is taken by {by}")]
    Taken { ip: Ipv4Addr, by: String },
    #[error("MAC {mac} is taken by {by}")]
    MacTaken { mac: MacAddr, by: String },
    #[error("MAC {mac} is {why}: a NIC needs a unicast address")]
    MacUnusable { mac: MacAddr, why: &'static str },
    #[error("no free MAC for {what} (all 255 counters of {prefix} are taken)")]
    MacExhausted { what: String, prefix: String },
    #[error("node number {0} cannot be written in a sequential MAC (1-95); use mac.scheme: random")]
    NodeNumberTooLarge(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for IpamError {
    fn from(e: rusqlite::Error) -> Self {
        IpamError::Store(StoreError::Sql(e))
    }
}

impl fmt::Display for AllocState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
