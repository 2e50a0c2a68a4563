//! Planning a copy of a guest onto other nodes: which way Proxmox allows it
//! there (clone on the node, clone with `target` over shared storage, clone
//! then migrate, or backup and restore), which nodes already hold a replica,
//! and the steps each target runs. Shared with cloning.

use std::net::Ipv4Addr;

use rusqlite::{Transaction, params};

use crate::engine::error::EngineError;
use crate::engine::plan::{PlanContext, StepList, Strategy, TargetPlan};
use crate::inventory::GuestInfo;
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

/// How a copy of `src` can reach `target`, as Proxmox allows.
pub fn strategy(
    ctx: &PlanContext<'_>,
    src: &GuestInfo,
    target: &str,
) -> Result<(Strategy, Option<String>), EngineError> {
    if src.node == target {
        return Ok((Strategy::CloneLocal, None));
    }
    let storages = &ctx.inventory.storages;
    let on = |id: &str, node: &str| storages.iter().find(|s| s.storage == id && s.node == node);
    let all_shared = !src.storages.is_empty()
        && src
            .storages
            .iter()
            .all(|s| on(s, &src.node).is_some_and(|e| e.shared) && on(s, target).is_some());
    if all_shared {
        let st = src.storages[0].clone();
        return Ok((
            Strategy::CloneWithTarget {
                storage: st.clone(),
            },
            Some(st),
        ));
    }
    let local_everywhere = src.storages.iter().all(|s| on(s, target).is_some());
    // A running container can only be fully cloned from a snapshot.
    let clonable = src.kind == GuestKind::Qemu || !src.is_running();
    if local_everywhere && clonable {
        return Ok((Strategy::CloneThenMigrate, None));
    }
    let backup = storages
        .iter()
        .filter(|s| s.shared && s.node == src.node && s.content.iter().any(|c| c == "backup"))
        .find(|s| on(&s.storage, target).is_some());
    match backup {
        Some(b) => Ok((
            Strategy::BackupRestore {
                storage: b.storage.clone(),
            },
            None,
        )),
        None => Err(EngineError::NotPossible(format!(
            "no way to copy {} to {target}: its disks ({}) are not on storage shared with {target}, {}, and no shared backup storage reaches both nodes",
            src.name,
            src.storages.join(", "),
            if clonable {
                "cannot be migrated there"
            } else {
                "a running container cannot be cloned"
            }
        ))),
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
    match t.strategy.as_ref() {
        Some(Strategy::CloneLocal) | None => {
            steps.add(
                "clone",
                node,
                format!("full clone {} → {} (vmid {})", src.vmid, t.name, t.vmid),
            );
        }
        Some(Strategy::CloneWithTarget { storage }) => steps.add(
            "clone",
            node,
            format!(
                "full clone {} → {} (vmid {}) on {} storage {storage}",
                src.vmid, t.name, t.vmid, t.node
            ),
        ),
        Some(Strategy::CloneThenMigrate) => {
            steps.add(
                "clone",
                node,
                format!(
                    "full clone {} → {} (vmid {}) on {}",
                    src.vmid, t.name, t.vmid, src.node
                ),
            );
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
                format!("restore as {} (vmid {}) on {}", t.name, t.vmid, t.node),
            );
        }
    }
    steps.add(
        "configure",
        node,
        format!(
            "set {} {}, MAC {}, address {}/{} gw {}",
            if src.kind == GuestKind::Qemu {
                "name"
            } else {
                "hostname"
            },
            t.hostname,
            t.mac.map(|m| m.to_string()).unwrap_or_default(),
            t.ip.map(|i| i.to_string()).unwrap_or_default(),
            t.prefix_len,
            t.gateway.map(|g| g.to_string()).unwrap_or_default()
        ),
    );
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
