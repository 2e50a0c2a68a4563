//! Reconciliation: the database is not the only truth, a real cluster already
//! has addresses. Import what live guests use, and report what disagrees.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::alloc::Ipam;
use super::{AllocState, Allocation, IpamError};
use crate::inventory::{GuestInfo, Inventory};
use crate::macaddr::MacAddr;
use crate::store::now;

/// Something that disagrees between guests, subnets and the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// The same address configured on several guests.
    DuplicateIp { ip: Ipv4Addr, guests: Vec<String> },
    /// The same MAC on several guests.
    DuplicateMac { mac: MacAddr, guests: Vec<String> },
    /// A guest's address lies outside its node's subnet.
    OutsideSubnet {
        guest: String,
        node: String,
        ip: Ipv4Addr,
        subnet: String,
    },
    /// A guest has a static address on a node with no subnet configured.
    NoSubnet {
        guest: String,
        node: String,
        ip: Ipv4Addr,
    },
    /// The database holds the address for another guest.
    HeldByOther {
        ip: Ipv4Addr,
        guest: String,
        record: String,
    },
    /// The database says a guest has an address it no longer has.
    StaleRecord {
        ip: Ipv4Addr,
        node: String,
        record: String,
        reason: String,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::DuplicateIp { ip, guests } => write!(
                f,
                "{ip} is configured on {} guests: {}",
                guests.len(),
                guests.join(", ")
            ),
            Conflict::DuplicateMac { mac, guests } => write!(
                f,
                "MAC {mac} is configured on {} guests: {}",
                guests.len(),
                guests.join(", ")
            ),
            Conflict::OutsideSubnet {
                guest,
                node,
                ip,
                subnet,
            } => write!(f, "{guest}: {ip} is outside {node}'s subnet {subnet}"),
            Conflict::NoSubnet { guest, node, ip } => write!(
                f,
                "{guest} has {ip} but {node} has no subnet in naming-conventions.yml"
            ),
            Conflict::HeldByOther { ip, guest, record } => write!(
                f,
                "{guest} uses {ip}, which the database holds for {record}"
            ),
            Conflict::StaleRecord {
                ip,
                node,
                record,
                reason,
            } => write!(f, "{ip} on {node} is recorded for {record}, but {reason}"),
        }
    }
}

/// What a reconciliation did and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileReport {
    pub guests_checked: usize,
    /// Live addresses the database did not know, now recorded as `observed`.
    pub imported: Vec<Allocation>,
    /// Observed records whose guest no longer has the address.
    pub released: Vec<Allocation>,
    pub conflicts: Vec<Conflict>,
}

fn label(g: &GuestInfo) -> String {
    format!("{} (vmid {}) on {}", g.name, g.vmid, g.node)
}

impl Ipam<'_> {
    /// Compare the database with the live inventory. Call inside a write transaction.
    pub fn reconcile(
        &self,
        conn: &Connection,
        inv: &Inventory,
    ) -> Result<ReconcileReport, IpamError> {
        let mut report = ReconcileReport::default();
        let known: Vec<&GuestInfo> = inv.guests.iter().filter(|g| g.config_known).collect();
        report.guests_checked = known.len();

        // Duplicates among live guests.
        let mut by_ip: BTreeMap<Ipv4Addr, Vec<String>> = BTreeMap::new();
        let mut by_mac: BTreeMap<MacAddr, Vec<String>> = BTreeMap::new();
        for g in &known {
            for n in &g.nics {
                if let Some(ip) = n.address() {
                    by_ip.entry(ip).or_default().push(label(g));
                }
                if let Some(m) = n.mac {
                    by_mac.entry(m).or_default().push(label(g));
                }
            }
        }
        for (ip, guests) in by_ip.into_iter().filter(|(_, g)| g.len() > 1) {
            report.conflicts.push(Conflict::DuplicateIp { ip, guests });
        }
        for (mac, guests) in by_mac.into_iter().filter(|(_, g)| g.len() > 1) {
            report
                .conflicts
                .push(Conflict::DuplicateMac { mac, guests });
        }

        // Each live address against its subnet and the database (the
        // records read once, not per guest).
        let records_now = self.list(conn, None, false)?;
        let mut by_node_ip: std::collections::HashMap<(String, Ipv4Addr), Vec<&Allocation>> =
            std::collections::HashMap::new();
        for a in &records_now {
            by_node_ip
                .entry((a.node.clone(), a.ip))
                .or_default()
                .push(a);
        }
        let mut seen: HashSet<(u32, Ipv4Addr)> = HashSet::new();
        for g in &known {
            for n in &g.nics {
                let Some(ip) = n.address() else { continue };
                seen.insert((g.vmid, ip));
                let Some(entry) = self.naming.node(&g.node) else {
                    report.conflicts.push(Conflict::NoSubnet {
                        guest: label(g),
                        node: g.node.clone(),
                        ip,
                    });
                    continue;
                };
                let Some(subnet) = self.naming.subnets.get(&entry.name) else {
                    report.conflicts.push(Conflict::NoSubnet {
                        guest: label(g),
                        node: g.node.clone(),
                        ip,
                    });
                    continue;
                };
                if !subnet.subnet.contains(&ip) {
                    report.conflicts.push(Conflict::OutsideSubnet {
                        guest: label(g),
                        node: g.node.clone(),
                        ip,
                        subnet: subnet.subnet.to_string(),
                    });
                    continue;
                }
                let records: Vec<&Allocation> = by_node_ip
                    .get(&(entry.name.clone(), ip))
                    .cloned()
                    .unwrap_or_default();
                if records.iter().any(|a| a.vmid == Some(g.vmid)) {
                    continue;
                }
                if let Some(other) = records.iter().find(|a| a.state != AllocState::Observed) {
                    report.conflicts.push(Conflict::HeldByOther {
                        ip,
                        guest: label(g),
                        record: other.holder(),
                    });
                    continue;
                }
                conn.execute(
                    "INSERT INTO ip_allocations (cluster, node, subnet, ip, guest_type, vmid, resource_name, mac, hostname, state, allocated_at, allocated_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'observed', ?10, 'reconcile')",
                    params![
                        self.cluster,
                        entry.name,
                        subnet.subnet.to_string(),
                        ip.to_string(),
                        g.kind.as_str(),
                        g.vmid,
                        g.name,
                        n.mac.map(|m| m.to_string()),
                        g.hostname.clone().unwrap_or_else(|| g.name.clone()),
                        now()
                    ],
                )?;
                if let Some(a) = self.get(conn, conn.last_insert_rowid())? {
                    report.imported.push(a);
                }
            }
        }

        // Database records whose guest no longer has the address.
        let config_known: HashSet<u32> = known.iter().map(|g| g.vmid).collect();
        let present: HashSet<u32> = inv.guests.iter().map(|g| g.vmid).collect();
        for a in records_now.iter().cloned() {
            let Some(vmid) = a.vmid else { continue };
            if a.state == AllocState::Reserved || seen.contains(&(vmid, a.ip)) {
                continue;
            }
            if present.contains(&vmid) && !config_known.contains(&vmid) {
                // Its node is down or its config unreadable: no verdict.
                continue;
            }
            if !present.contains(&vmid) && inv.partial {
                // Not listed in a read of part of the cluster: no verdict.
                continue;
            }
            let reason = if present.contains(&vmid) {
                format!("guest {vmid} no longer has that address")
            } else {
                format!("guest {vmid} no longer exists")
            };
            match a.state {
                AllocState::Observed => {
                    self.release(conn, a.id)?;
                    report.released.push(a);
                }
                _ => report.conflicts.push(Conflict::StaleRecord {
                    ip: a.ip,
                    node: a.node.clone(),
                    record: a.holder(),
                    reason,
                }),
            }
        }
        Ok(report)
    }
}
