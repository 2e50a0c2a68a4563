//! Planning a copy of a guest onto other nodes: which nodes already hold a
//! replica, the address a replica keeps, and the steps each target runs by
//! its route (see `route`). Shared with cloning.

use std::net::Ipv4Addr;

use rusqlite::{Transaction, params};

use super::route::Route;
use crate::engine::error::EngineError;
use crate::engine::plan::{CdromDrive, Delivery, PlanContext, StepList, Strategy, TargetPlan};
use crate::inventory::{GuestInfo, Inventory};
use crate::ipam::ranges::subnet_of;
use crate::pve::GuestKind;

/// The source's address and its node's subnet, to keep the host part on other nodes.
pub fn origin_address(
    ctx: &PlanContext<'_>,
    src: &GuestInfo,
) -> Option<(Ipv4Addr, ipnet::Ipv4Net)> {
    let ip = src.primary_ip()?;
    let (_, subnet) = subnet_of(&ctx.config.naming, &src.node).ok()?;
    Some((ip, subnet.subnet))
}

/// The line proxdeck writes into every replica's description: how any
/// proxdeck (another host, a fresh database) knows the replica from the
/// cluster itself.
pub fn replica_marker(source_vmid: u32) -> String {
    format!("proxdeck:replica-of={source_vmid}")
}

/// A replica's description: who it copies, the action, and the marker line.
pub fn replica_description(source: &str, source_vmid: u32, action_id: &str) -> String {
    format!(
        "replica of {source} ({source_vmid}), made by proxdeck action {action_id}\n{}",
        replica_marker(source_vmid)
    )
}

/// Nodes where the cluster holds a replica of `source_vmid`: a guest whose
/// description carries the marker (or the sentence older proxdeck versions
/// wrote).
pub fn replica_nodes_in_cluster(inv: &Inventory, source_vmid: u32) -> Vec<String> {
    let marker = replica_marker(source_vmid);
    let legacy = format!("({source_vmid}), made by proxdeck action");
    let mut nodes: Vec<String> = inv
        .guests
        .iter()
        .filter(|g| g.vmid != source_vmid)
        .filter(|g| {
            inv.config(g.vmid)
                .and_then(|c| c.get("description"))
                .is_some_and(|d| {
                    d.lines().any(|l| l.trim() == marker)
                        || (d.starts_with("replica of ") && d.contains(&legacy))
                })
        })
        .map(|g| g.node.clone())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

/// Targets of `source_vmid` another action is replicating to now, with the action.
pub fn open_replications(
    tx: &Transaction<'_>,
    cluster: &str,
    source_vmid: u32,
) -> Result<Vec<(String, String)>, EngineError> {
    let mut st = tx.prepare_cached(
        "SELECT target_node, action_id FROM replication_tasks WHERE cluster = ?1 AND source_vmid = ?2 AND replica = 1 AND status IN ('pending', 'running')",
    )?;
    let rows = st
        .query_map(params![cluster, source_vmid], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    Ok(rows)
}

/// Nodes that already have a replica of `vmid`, from the metadata.
pub fn replica_nodes(
    tx: &Transaction<'_>,
    cluster: &str,
    vmid: u32,
) -> Result<Vec<String>, EngineError> {
    let mut st = tx.prepare_cached(
        "SELECT node FROM resource_metadata WHERE cluster = ?1 AND origin_template_id = ?2 AND is_replica = 1 AND gone_at IS NULL",
    )?;
    let nodes = st
        .query_map(params![cluster, vmid], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(nodes)
}

/// Put a route's needs into a target's plan: the temporary snapshot a running
/// container is cloned from (named after the new VMID, so each target has its
/// own) and the CD-ROMs the clone empties before it migrates.
pub fn apply_route(t: &mut TargetPlan, route: &Route, src: &GuestInfo) {
    t.delivery = Some(Delivery::of(src.kind, src.has_cloudinit()));
    t.from_snapshot = route
        .from_snapshot
        .then(|| format!("proxdeck-copy-{}", t.vmid));
    t.eject = route
        .eject
        .iter()
        .map(|(key, volume)| CdromDrive {
            key: key.clone(),
            volume: volume.clone(),
        })
        .collect();
}

/// What the plan must say about a target's way there and its address.
pub fn target_notes(t: &TargetPlan) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(n) = t.delivery.and_then(|d| d.explain(&t.name, t.ip, t.mac)) {
        notes.push(n);
    }
    if !t.eject.is_empty() {
        notes.push(format!(
            "{} on {}: its CD-ROM ({}) is emptied before the migration, as Proxmox does not migrate a local ISO",
            t.name,
            t.node,
            t.eject
                .iter()
                .map(|d| d.volume.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    notes
}

/// The configure step's line: what is set, and how the address gets there.
pub fn configure_line(t: &TargetPlan, kind: GuestKind) -> String {
    let mac = t.mac.map(|m| m.to_string()).unwrap_or_default();
    let ip = t.ip.map(|i| i.to_string()).unwrap_or_default();
    match t.delivery {
        Some(Delivery::Manual) => format!(
            "set name {}, MAC {mac}; address {ip} reserved for that MAC, not set (no cloud-init drive: DHCP reservation or in-guest configuration)",
            t.hostname
        ),
        _ => format!(
            "set {} {}, MAC {mac}, address {ip}/{} gw {}{}",
            if kind == GuestKind::Qemu {
                "name"
            } else {
                "hostname"
            },
            t.hostname,
            t.prefix_len,
            t.gateway.map(|g| g.to_string()).unwrap_or_default(),
            if t.delivery == Some(Delivery::CloudInit) {
                " (cloud-init applies it at first boot)"
            } else {
                ""
            }
        ),
    }
}

pub fn target_steps(steps: &mut StepList, t: &TargetPlan, src: &GuestInfo, start: bool) {
    let node = Some(t.node.as_str());
    steps.add(
        "prepare",
        node,
        format!(
            "check that {} is still there and VMID {} is free",
            src.name, t.vmid
        ),
    );
    let from = match &t.from_snapshot {
        Some(snap) => format!(
            " from a temporary snapshot {snap} of the running container (Proxmox clones a running container only from a snapshot; removed afterwards)"
        ),
        None => String::new(),
    };
    match t.strategy.as_ref() {
        Some(Strategy::CloneLocal) | None => {
            steps.add(
                "clone",
                node,
                format!("full clone {} → {} (vmid {}){from}", src.vmid, t.name, t.vmid),
            );
        }
        Some(Strategy::CloneWithTarget { storage }) => steps.add(
            "clone",
            node,
            format!(
                "full clone {} → {} (vmid {}) straight to {}, disks staying on shared storage {storage}{from}",
                src.vmid, t.name, t.vmid, t.node
            ),
        ),
        Some(Strategy::CloneThenMigrate) => {
            steps.add(
                "clone",
                node,
                format!(
                    "full clone {} → {} (vmid {}) on {}{from}",
                    src.vmid, t.name, t.vmid, src.node
                ),
            );
            if !t.eject.is_empty() {
                steps.add(
                    "eject",
                    node,
                    format!(
                        "empty the clone's CD-ROM {} (Proxmox does not migrate a local ISO)",
                        t.eject
                            .iter()
                            .map(|d| format!("{} ({})", d.key, d.volume))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            steps.add(
                "migrate",
                node,
                format!("offline migration of {} to {}", t.vmid, t.node),
            );
        }
        Some(Strategy::BackupRestore { storage }) => {
            steps.add("backup", node, format!("vzdump {} to {storage}", src.vmid));
            steps.add(
                "restore",
                node,
                format!(
                    "restore as {} (vmid {}) on {}, disks on {}",
                    t.name,
                    t.vmid,
                    t.node,
                    t.storage.as_deref().unwrap_or("the source's storage")
                ),
            );
        }
    }
    steps.add("configure", node, configure_line(t, src.kind));
    if src.template {
        steps.add(
            "template",
            node,
            format!("make {} a template, as its source is", t.name),
        );
    } else if start {
        steps.add("start", node, format!("start {}", t.name));
    }
    steps.add(
        "verify",
        node,
        "read the config back (and the status, if started)",
    );
    steps.add(
        "record",
        node,
        "record metadata, the address and the result",
    );
}
