//! Resources: the tree cluster → node → guests with live status, load bars,
//! addresses, template/replica markers and naming compliance.

use super::{Ctx, load_role, status_role};
use crate::inventory::{GuestInfo, NodeInfo};
use crate::naming::Convention;
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::World;

pub const CLUSTER_KEY: &str = "cluster";

pub fn node_key(name: &str) -> String {
    format!("node:{name}")
}

pub fn guest_key(vmid: u32) -> String {
    format!("guest:{vmid}")
}

/// The VMID of a guest row's key.
pub fn vmid_of(key: &str) -> Option<u32> {
    key.strip_prefix("guest:")?.parse().ok()
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("NAME", 24, 0).grow(),
        Column::new("VMID", 5, 1).right(),
        Column::new("TYPE", 4, 5),
        Column::new("STATUS", 9, 0),
        Column::new("CPU", 10, 3),
        Column::new("MEM", 15, 4),
        Column::new("IP", 15, 1),
        Column::new("MAC", 17, 7),
        Column::new("MARK", 5, 2),
        Column::new("UPTIME", 6, 6).right(),
    ]
}

pub(super) fn frac(used: Option<u64>, max: Option<u64>) -> Option<f64> {
    match (used, max) {
        (Some(u), Some(m)) if m > 0 => Some(u as f64 / m as f64),
        _ => None,
    }
}

fn cpu_cell(cpu: Option<f64>, running: bool) -> (Cell, SortKey) {
    match cpu {
        Some(c) if running => (
            Cell::new(
                format!("{} {:>3.0}%", fmt::bar(c, 5), c * 100.0),
                load_role(c),
            ),
            SortKey::Num(c),
        ),
        _ => (Cell::muted("-"), SortKey::None),
    }
}

fn mem_cell(used: Option<u64>, max: Option<u64>, running: bool) -> (Cell, SortKey) {
    match frac(used, max) {
        Some(f) if running => (
            Cell::new(
                format!(
                    "{} {}/{}",
                    fmt::bar(f, 4),
                    fmt::bytes(used.unwrap_or(0)),
                    fmt::bytes(max.unwrap_or(0))
                ),
                load_role(f),
            ),
            SortKey::Num(f),
        ),
        _ => (
            Cell::muted(max.map(fmt::bytes).unwrap_or_else(|| "-".into())),
            SortKey::None,
        ),
    }
}

fn node_row(n: &NodeInfo, guests: usize, folded: bool) -> Row {
    let online = n.online();
    let (cpu, cpu_key) = cpu_cell(n.cpu, online);
    let (mem, mem_key) = mem_cell(n.mem, n.maxmem, online);
    Row {
        key: node_key(&n.name),
        depth: 1,
        cells: vec![
            Cell::new(
                format!("{} {}  ({guests})", if folded { "▸" } else { "▾" }, n.name),
                Role::Accent,
            ),
            Cell::muted(""),
            Cell::muted("node"),
            Cell::new(n.status.clone(), status_role(&n.status)),
            cpu,
            mem,
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(
                n.uptime
                    .filter(|_| online)
                    .map(|u| fmt::age(u as i64))
                    .unwrap_or_default(),
            ),
        ],
        sort: vec![
            SortKey::Text(n.name.clone()),
            SortKey::None,
            SortKey::Text("node".into()),
            SortKey::Text(n.status.clone()),
            cpu_key,
            mem_key,
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::Num(n.uptime.unwrap_or(0) as f64),
        ],
        search: format!("{} node {}", n.name, n.status),
    }
}

/// What the status column says: a template, a lock, or the node being unreachable win.
pub(super) fn guest_status(g: &GuestInfo, node_online: bool) -> (String, Role) {
    if !node_online {
        return ("unknown".into(), Role::Warn);
    }
    if let Some(lock) = &g.lock {
        return (format!("lock:{lock}"), Role::Warn);
    }
    if g.template {
        return ("template".into(), Role::Template);
    }
    (g.status.clone(), status_role(&g.status))
}

fn marks(g: &GuestInfo, world: &World, conv: &Convention<'_>) -> (Cell, String) {
    let meta = world.meta.get(&g.vmid);
    let mut text = String::new();
    let mut role = Role::Text;
    let replica = meta.is_some_and(|m| m.is_replica);
    text.push(if g.template { 'T' } else { ' ' });
    text.push(if replica { 'R' } else { ' ' });
    if replica {
        role = Role::Replica;
    } else if g.template {
        role = Role::Template;
    }
    let ok = conv.check(&g.name).is_compliant();
    text.push(' ');
    text.push(if ok { '✓' } else { '✗' });
    if !ok {
        role = Role::Warn;
    }
    let search = format!(
        "{}{}",
        if g.template { " template" } else { "" },
        if meta.is_some_and(|m| m.is_replica) {
            " replica"
        } else {
            ""
        }
    );
    (Cell::new(text, role), search)
}

fn guest_row(g: &GuestInfo, world: &World, conv: &Convention<'_>, node_online: bool) -> Row {
    let running = g.is_running() && node_online;
    let (status, status_r) = guest_status(g, node_online);
    let (cpu, cpu_key) = cpu_cell(g.cpu, running);
    let (mem, mem_key) = mem_cell(g.mem, g.maxmem, running);
    let ip = g.primary_ip();
    let mac = g.primary_mac();
    let (mark, mark_search) = marks(g, world, conv);
    let icon = match (g.template, g.kind) {
        (true, _) => "◆",
        (_, crate::pve::GuestKind::Qemu) => "■",
        (_, crate::pve::GuestKind::Lxc) => "▪",
    };
    Row {
        key: guest_key(g.vmid),
        depth: 2,
        cells: vec![
            Cell::text(format!("  {icon} {}", g.name)),
            Cell::text(g.vmid.to_string()),
            Cell::muted(g.kind.as_str()),
            Cell::new(status.clone(), status_r),
            cpu,
            mem,
            Cell::text(ip.map(|i| i.to_string()).unwrap_or_else(|| {
                if g.config_known {
                    "-".into()
                } else {
                    "?".into()
                }
            })),
            Cell::muted(mac.map(|m| m.to_string()).unwrap_or_default()),
            mark,
            Cell::muted(
                g.uptime
                    .filter(|u| running && *u > 0)
                    .map(|u| fmt::age(u as i64))
                    .unwrap_or_default(),
            ),
        ],
        sort: vec![
            SortKey::Text(g.name.clone()),
            SortKey::Num(f64::from(g.vmid)),
            SortKey::Text(g.kind.as_str().into()),
            SortKey::Text(status),
            cpu_key,
            mem_key,
            ip.map(|i| SortKey::Num(f64::from(u32::from(i))))
                .unwrap_or(SortKey::None),
            mac.map(|m| SortKey::Text(m.to_string()))
                .unwrap_or(SortKey::None),
            SortKey::Text(String::new()),
            SortKey::Num(g.uptime.unwrap_or(0) as f64),
        ],
        search: format!(
            "{} {} {} {} {} {} {} {}{}",
            g.name,
            g.vmid,
            g.node,
            g.kind.as_str(),
            g.status,
            ip.map(|i| i.to_string()).unwrap_or_default(),
            mac.map(|m| m.to_string()).unwrap_or_default(),
            g.tags.join(" "),
            mark_search
        ),
    }
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let inv = world.inv();
    let conv = Convention::new(&ctx.config.naming);
    let online = inv.nodes.iter().filter(|n| n.online()).count();
    let mut rows = vec![Row {
        key: CLUSTER_KEY.into(),
        depth: 0,
        cells: vec![
            Cell::new(format!("◉ {}", world.cluster), Role::Title),
            Cell::muted(""),
            Cell::muted(""),
            Cell::new(
                format!("{online}/{} up", inv.nodes.len()),
                if online == inv.nodes.len() {
                    Role::Ok
                } else {
                    Role::Error
                },
            ),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(format!("{} guests", inv.guests.len())),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
        ],
        sort: vec![SortKey::None; 10],
        search: world.cluster.clone(),
    }];
    for n in &inv.nodes {
        let guests: Vec<&GuestInfo> = inv.guests.iter().filter(|g| g.node == n.name).collect();
        let folded = ctx.collapsed.contains(&node_key(&n.name)) && !ctx.filtering;
        rows.push(node_row(n, guests.len(), folded));
        if !folded {
            rows.extend(
                guests
                    .iter()
                    .map(|g| guest_row(g, world, &conv, n.online())),
            );
        }
    }
    // Guests on nodes the cluster does not list (should not happen; never hide them).
    let orphans: Vec<&GuestInfo> = inv
        .guests
        .iter()
        .filter(|g| inv.node(&g.node).is_none())
        .collect();
    rows.extend(orphans.iter().map(|g| guest_row(g, world, &conv, false)));
    let empty = if world.inventory.at.is_none() {
        match &world.inventory.error {
            Some(e) => format!("cannot read the cluster: {e}"),
            None => "reading the cluster…".into(),
        }
    } else {
        "no nodes".into()
    };
    if world.inventory.at.is_none() {
        rows.clear();
    }
    Table {
        columns: columns(),
        rows,
        empty,
        total: 0,
    }
}

pub use super::resources_detail::detail;
