//! Resource metadata: what proxdeck knows about each guest beyond Proxmox's own
//! config (origin node and template, replica marks, network identity, naming
//! compliance), kept current from inventory refreshes and written by workflows.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::inventory::Inventory;
use crate::naming::Convention;
use crate::store::{StoreError, now};

/// The design's `network_config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkConfig {
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub hostname: Option<String>,
}

/// The design's metadata shape (`GET /api/metadata/101`), plus what proxdeck adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceMetadata {
    pub resource_id: String,
    pub resource_name: String,
    pub node_name: String,
    pub origin_node: Option<String>,
    pub origin_template_id: Option<u32>,
    pub is_template: bool,
    pub is_replica: bool,
    pub replicated_nodes: Vec<String>,
    pub network_config: NetworkConfig,
    pub guest_type: String,
    pub naming_compliant: Option<bool>,
    pub naming_issue: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub gone_at: Option<i64>,
}

/// A metadata row's identity as the cluster shows it, to tell whether it changed.
type Identity = (
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    String,
    Option<bool>,
    Option<String>,
);

/// Bring the metadata in line with an inventory; returns (new, updated,
/// gone). Only rows whose identity differs are written (at 10,000 guests a
/// refresh that changed nothing writes nothing).
pub fn sync(
    conn: &Connection,
    cluster: &str,
    conv: &Convention,
    inv: &Inventory,
) -> Result<(usize, usize, usize), StoreError> {
    let t = now();
    let mut new = 0;
    let mut updated = 0;
    let known: std::collections::HashMap<u32, (Identity, bool)> = {
        let mut st = conn.prepare_cached(
            "SELECT vmid, name, guest_type, node, is_template, ip, mac, hostname, naming_compliant, naming_issue, gone_at IS NOT NULL
               FROM resource_metadata WHERE cluster = ?1",
        )?;
        st.query_map([cluster], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                (
                    (
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                        r.get(8)?,
                        r.get(9)?,
                    ),
                    r.get(10)?,
                ),
            ))
        })?
        .collect::<Result<_, _>>()?
    };
    for g in &inv.guests {
        let compliance = conv.check(&g.name);
        let (ip, mac, hostname) = match (known.get(&g.vmid), g.config_known) {
            // Keep what the config said when it was not read this time.
            (Some((old, _)), false) => (old.4.clone(), old.5.clone(), old.6.clone()),
            _ => (
                g.primary_ip().map(|i| i.to_string()),
                g.primary_mac().map(|m| m.to_string()),
                g.hostname.clone().unwrap_or_else(|| g.name.clone()),
            ),
        };
        let now_id: Identity = (
            g.name.clone(),
            g.kind.as_str().to_string(),
            g.node.clone(),
            g.template,
            ip.clone(),
            mac.clone(),
            hostname.clone(),
            Some(compliance.is_compliant()),
            compliance.reason().map(str::to_string),
        );
        match known.get(&g.vmid) {
            Some((old, gone)) if *old == now_id && !gone => {}
            Some(_) => {
                updated += conn.execute(
                    "UPDATE resource_metadata SET name = ?3, guest_type = ?4, node = ?5, is_template = ?6,
                         ip = ?7, mac = ?8, hostname = ?9, naming_compliant = ?10, naming_issue = ?11,
                         last_seen = ?12, gone_at = NULL
                     WHERE cluster = ?1 AND vmid = ?2",
                    params![
                        cluster, g.vmid, g.name, g.kind.as_str(), g.node, g.template, ip, mac, hostname,
                        compliance.is_compliant(), compliance.reason(), t
                    ],
                )?;
            }
            None => {
                new += conn.execute(
                    "INSERT INTO resource_metadata (cluster, vmid, name, guest_type, node, origin_node, is_template, ip, mac, hostname,
                         naming_compliant, naming_issue, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                    params![
                        cluster, g.vmid, g.name, g.kind.as_str(), g.node, g.template, ip, mac, hostname,
                        compliance.is_compliant(), compliance.reason(), t
                    ],
                )?;
            }
        }
    }
    let present: std::collections::HashSet<u32> = inv.guests.iter().map(|g| g.vmid).collect();
    let mut gone = 0;
    // Part of the cluster says nothing about the guests it did not list.
    let listed_all = !inv.partial;
    for (vmid, (_, was_gone)) in known.iter().filter(|_| listed_all) {
        if !was_gone && !present.contains(vmid) {
            gone += conn.execute(
                "UPDATE resource_metadata SET gone_at = ?3 WHERE cluster = ?1 AND vmid = ?2 AND gone_at IS NULL",
                params![cluster, vmid, t],
            )?;
        }
    }
    Ok((new, updated, gone))
}

/// A guest proxdeck deleted is gone (the next refresh would say so too).
pub fn mark_gone(conn: &Connection, cluster: &str, vmid: u32) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE resource_metadata SET gone_at = ?3 WHERE cluster = ?1 AND vmid = ?2 AND gone_at IS NULL",
        params![cluster, vmid, now()],
    )?;
    Ok(())
}

/// Record that `replica` on `replica_node` was made from `source`.
pub fn record_replica(
    conn: &Connection,
    cluster: &str,
    source: u32,
    replica: u32,
    replica_kind: crate::pve::GuestKind,
    replica_node: &str,
) -> Result<(), StoreError> {
    let t = now();
    let (source_node, source_origin, source_template): (String, Option<String>, Option<u32>) = conn
        .query_row(
            "SELECT node, origin_node, origin_template_id FROM resource_metadata WHERE cluster = ?1 AND vmid = ?2",
            params![cluster, source],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .unwrap_or_default();
    let origin_node = source_origin.unwrap_or(source_node);
    // A replica of a replica still points at the first template.
    let origin_template = source_template.unwrap_or(source);
    conn.execute(
        "INSERT INTO resource_metadata (cluster, vmid, guest_type, node, origin_node, origin_template_id, is_replica, first_seen, last_seen)
         VALUES (?1, ?2, ?5, ?3, ?4, ?6, 1, ?7, ?7)
         ON CONFLICT (cluster, vmid) DO UPDATE SET origin_node = ?4, origin_template_id = ?6, is_replica = 1, node = ?3",
        params![cluster, replica, replica_node, origin_node, replica_kind.as_str(), origin_template, t],
    )?;
    let nodes: String = conn
        .query_row(
            "SELECT replicated_nodes FROM resource_metadata WHERE cluster = ?1 AND vmid = ?2",
            params![cluster, origin_template],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "[]".into());
    let mut list: Vec<String> = serde_json::from_str(&nodes).unwrap_or_default();
    if !list.iter().any(|n| n == replica_node) {
        list.push(replica_node.to_string());
        list.sort();
    }
    conn.execute(
        "UPDATE resource_metadata SET replicated_nodes = ?3 WHERE cluster = ?1 AND vmid = ?2",
        params![
            cluster,
            origin_template,
            serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
        ],
    )?;
    Ok(())
}

/// Record that `clone` on `node` was made from `source` (a new guest, not a replica).
pub fn record_clone(
    conn: &Connection,
    cluster: &str,
    source_node: &str,
    source: u32,
    clone: u32,
    kind: crate::pve::GuestKind,
    node: &str,
) -> Result<(), StoreError> {
    let t = now();
    conn.execute(
        "INSERT INTO resource_metadata (cluster, vmid, guest_type, node, origin_node, origin_template_id, is_replica, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7)
         ON CONFLICT (cluster, vmid) DO UPDATE SET origin_node = ?5, origin_template_id = ?6, is_replica = 0, node = ?4",
        params![cluster, clone, kind.as_str(), node, source_node, source, t],
    )?;
    Ok(())
}

const META_COLUMNS: &str =
    "vmid, name, node, origin_node, origin_template_id, is_template, is_replica, replicated_nodes,
    ip, mac, hostname, guest_type, naming_compliant, naming_issue, first_seen, last_seen, gone_at";

fn meta_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResourceMetadata> {
    let nodes: String = r.get(7)?;
    Ok(ResourceMetadata {
        resource_id: r.get::<_, u32>(0)?.to_string(),
        resource_name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        node_name: r.get(2)?,
        origin_node: r.get(3)?,
        origin_template_id: r.get(4)?,
        is_template: r.get(5)?,
        is_replica: r.get(6)?,
        replicated_nodes: serde_json::from_str(&nodes).unwrap_or_default(),
        network_config: NetworkConfig {
            ip: r.get(8)?,
            mac: r.get(9)?,
            hostname: r.get(10)?,
        },
        guest_type: r.get(11)?,
        naming_compliant: r.get(12)?,
        naming_issue: r.get(13)?,
        first_seen: r.get(14)?,
        last_seen: r.get(15)?,
        gone_at: r.get(16)?,
    })
}

/// Metadata of one guest.
pub fn get(
    conn: &Connection,
    cluster: &str,
    vmid: u32,
) -> Result<Option<ResourceMetadata>, StoreError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {META_COLUMNS} FROM resource_metadata WHERE cluster = ?1 AND vmid = ?2"
            ),
            params![cluster, vmid],
            meta_row,
        )
        .optional()?)
}

/// Metadata of every guest still in the cluster.
pub fn list(conn: &Connection, cluster: &str) -> Result<Vec<ResourceMetadata>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS} FROM resource_metadata WHERE cluster = ?1 AND gone_at IS NULL ORDER BY vmid"
    ))?;
    let rows = st
        .query_map([cluster], meta_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A guest's network identity as a workflow set it (name, address, MAC, hostname).
pub fn set_identity(
    conn: &Connection,
    cluster: &str,
    vmid: u32,
    name: &str,
    ip: Option<std::net::Ipv4Addr>,
    mac: Option<crate::macaddr::MacAddr>,
    hostname: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE resource_metadata SET name = ?3, ip = ?4, mac = ?5, hostname = ?6 WHERE cluster = ?1 AND vmid = ?2",
        params![
            cluster,
            vmid,
            name,
            ip.map(|i| i.to_string()),
            mac.map(|m| m.to_string()),
            hostname
        ],
    )?;
    Ok(())
}

/// A guest's address and MAC as a workflow set them.
pub fn set_address(
    conn: &Connection,
    cluster: &str,
    vmid: u32,
    ip: std::net::Ipv4Addr,
    mac: crate::macaddr::MacAddr,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE resource_metadata SET ip = ?3, mac = ?4 WHERE cluster = ?1 AND vmid = ?2",
        params![cluster, vmid, ip.to_string(), mac.to_string()],
    )?;
    Ok(())
}
