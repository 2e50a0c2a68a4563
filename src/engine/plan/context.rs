//! What planning knows (the configuration, the inventory, the facts read
//! before planning) and the helpers every workflow's planner shares: guests
//! and nodes looked up with clear errors, and new identities (name, VMID,
//! address, MAC) reserved for the life of the workflow inside the caller's
//! transaction.

use std::net::Ipv4Addr;

use rusqlite::{Transaction, params};

use super::{Strategy, TargetPlan};
use crate::config::Config;
use crate::config::vmids::{VMID_MAX, VMID_MIN, VmidScheme};
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::inventory::{GuestInfo, Inventory};
use crate::ipam::alloc::Ipam;
use crate::ipam::ranges::subnet_of;
use crate::ipam::{AllocState, LiveAddresses, MacWanted, ReserveRequest};
use crate::naming::Convention;
use crate::naming::reserve::{NameRequest, reserve_name};
use crate::pve::GuestKind;

/// What planning needs to know.
pub struct PlanContext<'a> {
    pub config: &'a Config,
    pub cluster: &'a str,
    pub inventory: &'a Inventory,
    pub live: &'a LiveAddresses,
    /// `/cluster/nextid` read just before (VMIDs are chosen from there up).
    pub next_vmid: u32,
    pub actor: &'a str,
    pub read_only: bool,
    /// LVs and backup listings read for this plan.
    pub facts: &'a super::facts::PlanFacts,
    /// VMIDs found taken after an earlier try (Proxmox said so): not to be planned.
    pub taken_vmids: &'a std::collections::HashSet<u32>,
}

/// What a new guest's identity must be, where the requester said so.
#[derive(Debug, Clone, Default)]
pub struct Wish {
    pub name: Option<String>,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<crate::macaddr::MacAddr>,
}

/// A new guest to find an identity for.
#[derive(Debug, Clone)]
pub struct NewGuest<'a> {
    /// Proxmox name of the node it will live on.
    pub node: &'a str,
    /// Its role in the naming convention (`db`).
    pub role: &'a str,
    pub kind: GuestKind,
    /// An address to keep the host part of (a replica keeps its origin's).
    pub prefer: Option<(Ipv4Addr, ipnet::Ipv4Net)>,
    pub strategy: Option<Strategy>,
    /// Where its disks go.
    pub storage: Option<String>,
    /// What the requester chose.
    pub wish: Wish,
}

impl PlanContext<'_> {
    pub(crate) fn guest(&self, g: &GuestSel) -> Result<&GuestInfo, EngineError> {
        self.inventory
            .guest(g.vmid)
            .ok_or_else(|| EngineError::NotPossible(format!("{g} is not in the cluster any more")))
    }

    /// Proxmox name of a node given in either form.
    pub(crate) fn pve_node(&self, node: &str) -> Result<String, EngineError> {
        if let Some(n) = self.config.naming.node(node) {
            return Ok(n.pve_name.clone());
        }
        if self.inventory.node(node).is_some() {
            return Ok(node.to_string());
        }
        Err(EngineError::UnknownNode(node.to_string()))
    }

    /// A VMID for a new guest on `node`: the lowest free one of the node's
    /// range (`vmid_pattern`), or Proxmox's next free one (`nextid`, or the
    /// fallback when the range is full). Free means no guest has it, no plan
    /// holds it, and Proxmox did not say it is taken.
    fn pick_vmid(&self, tx: &Transaction<'_>, node: &str) -> Result<u32, EngineError> {
        let mut st = tx.prepare_cached("SELECT vmid FROM name_reservations WHERE cluster = ?1 AND state = 'reserved' AND vmid IS NOT NULL")?;
        let held: std::collections::HashSet<u32> = st
            .query_map([self.cluster], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let free = |v: &u32| {
            self.inventory.guest(*v).is_none() && !held.contains(v) && !self.taken_vmids.contains(v)
        };
        let vmids = &self.config.naming.vmids;
        let next_free = || {
            (self.next_vmid.max(VMID_MIN)..=VMID_MAX)
                .find(|v| free(v))
                .ok_or_else(|| EngineError::NotPossible("no free VMID".into()))
        };
        let VmidScheme::Pattern(pattern) = &vmids.scheme else {
            return next_free();
        };
        let Some(entry) = self.config.naming.node(node) else {
            return next_free();
        };
        if let Some(v) = pattern.ids(entry.number).into_iter().find(|v| free(v)) {
            return Ok(v);
        }
        if vmids.fallback_nextid {
            return next_free();
        }
        Err(EngineError::NotPossible(format!(
            "{}'s VMID range {} (vmid_pattern {}) is full: free an ID there, or set vmid_fallback: nextid in naming-conventions.yml",
            entry.name,
            pattern.range_text(entry.number),
            pattern.text()
        )))
    }

    /// Reserve name, VMID, address and MAC for a new guest, keeping what the
    /// requester chose (name, address, MAC).
    pub(crate) fn new_identity(
        &self,
        tx: &Transaction<'_>,
        action_id: &str,
        new: NewGuest<'_>,
    ) -> Result<TargetPlan, EngineError> {
        let NewGuest {
            node,
            role,
            kind,
            prefer,
            strategy,
            storage,
            wish,
        } = new;
        let conv = Convention::new(&self.config.naming);
        let names: Vec<String> = self
            .inventory
            .guests
            .iter()
            .map(|g| g.name.clone())
            .collect();
        let req = NameRequest {
            node,
            role,
            action_id: Some(action_id),
            by: self.actor,
        };
        let n = match &wish.name {
            Some(name) => {
                crate::naming::reserve::reserve_exact(tx, self.cluster, &conv, &req, name, &names)?
            }
            None => reserve_name(tx, self.cluster, &conv, &req, &names)?,
        };
        let held: Option<u32> = tx.query_row(
            "SELECT vmid FROM name_reservations WHERE id = ?1",
            [n.id],
            |r| r.get(0),
        )?;
        let vmid = match held {
            Some(v) => v,
            None => {
                let v = self.pick_vmid(tx, node)?;
                tx.execute(
                    "UPDATE name_reservations SET vmid = ?2 WHERE id = ?1",
                    params![n.id, v],
                )?;
                v
            }
        };
        let ipam = Ipam::new(self.cluster, &self.config.naming);
        let (_, subnet) = subnet_of(&self.config.naming, node)?;
        let mut req = ReserveRequest::new(node, kind, self.actor);
        req.name = Some(&n.name);
        req.hostname = Some(&n.hostname);
        req.prefer = prefer;
        req.ip = wish.ip;
        if let Some(m) = wish.mac {
            req.mac = MacWanted::Given(m);
        }
        req.action_id = Some(action_id);
        req.state = AllocState::Reserved;
        let a = ipam.reserve(tx, &req, self.live)?;
        Ok(TargetPlan {
            node: node.to_string(),
            vmid,
            name: n.name,
            hostname: n.hostname,
            ip: Some(a.ip),
            prefix_len: subnet.subnet.prefix_len(),
            gateway: Some(subnet.gateway),
            mac: a.mac,
            bridge: subnet.bridge.clone(),
            nameserver: (!subnet.dns_servers.is_empty()).then(|| {
                subnet
                    .dns_servers
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            strategy,
            storage,
            ip_allocation: Some(a.id),
            name_reservation: Some(n.id),
            from_snapshot: None,
            eject: Vec::new(),
            // Set by the planner that knows the source (a restore learns it
            // from the restored config).
            delivery: None,
        })
    }

    pub(crate) fn role(&self, src: &GuestInfo, given: Option<&str>) -> Result<String, EngineError> {
        if let Some(r) = given {
            return Ok(r.to_string());
        }
        Convention::new(&self.config.naming)
            .role_of(&src.name, &src.tags)
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "cannot tell the role of {} from its name or tags: give one with --role",
                    src.name
                ))
            })
    }
}

/// A snapshot name from the policy pattern (`auto-20260129-1403`), the
/// workflow's suffix (`-pre-rb`) and the action's own tag (the last four
/// characters of its id), so two actions in one minute never share one.
/// At most 40 characters (Proxmox's limit); the tag is always kept.
pub fn snapshot_name(pattern: &str, suffix: &str, action_id: &str) -> String {
    let date = crate::timefmt::now_local("%Y%m%d");
    let time = crate::timefmt::now_local("%H%M");
    let mut name = pattern.replace("{date}", &date).replace("{time}", &time);
    name.push_str(suffix);
    let tag: String = action_id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    name.truncate(40 - tag.len() - 1);
    format!("{name}-{tag}")
}

/// Give back every identity an action holds (rejected, cancelled, re-planned, or a target failed).
pub fn release_all(
    tx: &Transaction<'_>,
    cluster: &str,
    config: &Config,
    action_id: &str,
) -> Result<(), EngineError> {
    Ipam::new(cluster, &config.naming).release_for_action(tx, action_id)?;
    crate::naming::reserve::release_for_action(tx, cluster, action_id)?;
    Ok(())
}
