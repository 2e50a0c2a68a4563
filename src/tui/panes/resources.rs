//! Resources: the tree cluster → node → guests with live status, load bars,
//! addresses, template/replica markers and naming compliance.

use super::{Ctx, Detail, load_role, status_role};
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

fn frac(used: Option<u64>, max: Option<u64>) -> Option<f64> {
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
fn guest_status(g: &GuestInfo, node_online: bool) -> (String, Role) {
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

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    if key == CLUSTER_KEY {
        return Some(cluster_detail(world, ctx));
    }
    if let Some(name) = key.strip_prefix("node:") {
        return node_detail(world, name, ctx);
    }
    let g = world.inv().guest(vmid_of(key)?)?;
    Some(guest_detail(world, g, ctx))
}

fn cluster_detail(world: &World, ctx: &Ctx<'_>) -> Detail {
    let inv = world.inv();
    let mut d = Detail::new(format!("cluster {}", world.cluster));
    d.field(
        "nodes",
        format!(
            "{} ({} online)",
            inv.nodes.len(),
            inv.nodes.iter().filter(|n| n.online()).count()
        ),
        Role::Text,
    );
    let templates = inv.guests.iter().filter(|g| g.template).count();
    d.field(
        "guests",
        format!(
            "{} ({} running, {templates} template{})",
            inv.guests.len(),
            inv.guests.iter().filter(|g| g.is_running()).count(),
            if templates == 1 { "" } else { "s" }
        ),
        Role::Text,
    );
    if let Some(p) = ctx.config.naming.primary_node() {
        d.field(
            "primary",
            format!("{} (templates replicate from here)", p.pve_name),
            Role::Text,
        );
    }
    d.field("naming", ctx.config.naming.pattern.to_string(), Role::Text);
    let off: Vec<&str> = inv
        .nodes
        .iter()
        .filter(|n| !n.online())
        .map(|n| n.name.as_str())
        .collect();
    if !off.is_empty() {
        d.field("offline", off.join(", "), Role::Error);
    }
    d
}

fn node_detail(world: &World, name: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    let inv = world.inv();
    let n = inv.node(name)?;
    let mut d = Detail::new(format!("node {name}"));
    d.field("status", n.status.clone(), status_role(&n.status));
    if n.online() {
        if let Some(c) = n.cpu {
            d.field(
                "cpu",
                format!("{:.0}% of {} cores", c * 100.0, n.maxcpu.unwrap_or(0.0)),
                load_role(c),
            );
        }
        if let (Some(m), Some(x)) = (n.mem, n.maxmem) {
            d.field(
                "memory",
                format!("{} of {}", fmt::bytes(m), fmt::bytes(x)),
                Role::Text,
            );
        }
        if let Some(u) = n.uptime {
            d.field("uptime", fmt::age(u as i64), Role::Text);
        }
    } else {
        d.text(
            "The node does not answer: its guests' figures are unknown.",
            Role::Error,
        );
    }
    let guests = inv.guests.iter().filter(|g| g.node == name).count();
    d.field("guests", guests.to_string(), Role::Text);
    if let Some(entry) = ctx.config.naming.node(name) {
        d.field(
            "convention",
            format!(
                "{} (node {}){}",
                entry.name,
                entry.number,
                if entry.is_primary_template {
                    ", primary template node"
                } else {
                    ""
                }
            ),
            Role::Text,
        );
        if let Some(s) = ctx.config.naming.subnets.get(&entry.name) {
            d.field(
                "subnet",
                format!("{} gw {}", s.subnet, s.gateway),
                Role::Text,
            );
            d.field("VM range", s.vm_range.to_string(), Role::Text);
            d.field("LXC range", s.lxc_range.to_string(), Role::Text);
        }
    } else {
        d.field("convention", "not in naming-conventions.yml", Role::Warn);
    }
    d.heading("storage");
    for s in inv.storages.iter().filter(|s| s.node == name) {
        let use_ = frac(s.disk, s.maxdisk);
        d.line(vec![
            Cell::muted(format!("{:<11} ", s.storage)),
            Cell::text(format!("{:<8}", s.plugintype)),
            Cell::new(
                use_.map(|f| {
                    format!(
                        "{} {:>3.0}% of {}",
                        fmt::bar(f, 8),
                        f * 100.0,
                        fmt::bytes(s.maxdisk.unwrap_or(0))
                    )
                })
                .unwrap_or_else(|| s.status.clone()),
                use_.map(load_role).unwrap_or(Role::Muted),
            ),
            Cell::muted(if s.shared { "  shared" } else { "" }),
        ]);
    }
    Some(d)
}

fn guest_detail(world: &World, g: &GuestInfo, ctx: &Ctx<'_>) -> Detail {
    let mut d = Detail::new(format!(
        "{} ({} {} on {})",
        g.name,
        g.kind.noun(),
        g.vmid,
        g.node
    ));
    let node_online = world.inv().node(&g.node).is_some_and(|n| n.online());
    let (status, role) = guest_status(g, node_online);
    d.field("status", status, role);
    if let Some(c) = g.cpu.filter(|_| g.is_running()) {
        d.field(
            "cpu",
            format!("{:.0}% of {} cores", c * 100.0, g.maxcpu.unwrap_or(0.0)),
            load_role(c),
        );
    }
    if let Some(m) = g.maxmem {
        d.field(
            "memory",
            match g.mem.filter(|_| g.is_running()) {
                Some(u) => format!("{} of {}", fmt::bytes(u), fmt::bytes(m)),
                None => fmt::bytes(m),
            },
            Role::Text,
        );
    }
    if let Some(h) = &g.hostname {
        d.field("hostname", h.clone(), Role::Text);
    }
    if !g.tags.is_empty() {
        d.field("tags", g.tags.join(", "), Role::Text);
    }
    if !g.storages.is_empty() {
        d.field("disks on", g.storages.join(", "), Role::Text);
    }
    d.heading("network");
    if !g.config_known {
        d.text(
            "configuration not read (node unreachable or read failed)",
            Role::Warn,
        );
    }
    for n in &g.nics {
        d.line(vec![
            Cell::muted(format!("{:<11} ", n.key)),
            Cell::text(format!(
                "{}  {}{}{}",
                n.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                n.ip.map(|i| i.to_string())
                    .unwrap_or_else(|| "no address".into()),
                n.gw.map(|gw| format!(" gw {gw}")).unwrap_or_default(),
                n.bridge
                    .as_ref()
                    .map(|b| format!("  {b}"))
                    .unwrap_or_default()
            )),
        ]);
    }
    d.heading("naming");
    let conv = Convention::new(&ctx.config.naming);
    match conv.check(&g.name) {
        c if c.is_compliant() => {
            let p = c
                .parts()
                .map(|p| format!(" (role {}, number {:02})", p.role, p.seq))
                .unwrap_or_default();
            d.text(
                format!("✓ follows {}{p}", ctx.config.naming.pattern),
                Role::Ok,
            );
        }
        c => d.text(
            format!(
                "✗ {}",
                c.reason().unwrap_or("does not follow the convention")
            ),
            Role::Warn,
        ),
    }
    if let Some(m) = world.meta.get(&g.vmid) {
        d.heading("lineage");
        if m.is_template {
            d.field(
                "template",
                format!(
                    "yes{}",
                    if ctx
                        .config
                        .naming
                        .primary_node()
                        .is_some_and(|p| p.pve_name == g.node)
                    {
                        ", on the primary node"
                    } else {
                        ""
                    }
                ),
                Role::Template,
            );
        }
        if m.is_replica {
            d.field(
                "replica of",
                match (m.origin_template_id, &m.origin_node) {
                    (Some(t), Some(n)) => format!("{t} on {n}"),
                    (Some(t), None) => t.to_string(),
                    (None, Some(n)) => format!("a guest on {n}"),
                    (None, None) => "unknown".into(),
                },
                Role::Replica,
            );
        } else if let Some(o) = &m.origin_node {
            d.field("origin", o.clone(), Role::Text);
        }
        if !m.replicated_nodes.is_empty() {
            d.field("replicas on", m.replicated_nodes.join(", "), Role::Replica);
        }
    }
    let snaps: Vec<_> = world
        .snapshots
        .data
        .guests
        .get(&g.vmid)
        .map(|l| l.iter().filter(|s| s.name != "current").collect())
        .unwrap_or_default();
    let backups: Vec<_> = world
        .backups
        .data
        .iter()
        .filter(|b| b.content.vmid == Some(g.vmid))
        .collect();
    d.heading("protection");
    let newest_snap = snaps
        .iter()
        .filter_map(|s| s.snaptime.map(|t| (t, &s.name)))
        .max();
    d.field(
        "snapshots",
        match newest_snap {
            Some((t, name)) => format!(
                "{} (newest {name}, {} ago)",
                snaps.len(),
                fmt::age(ctx.now - t)
            ),
            None => snaps.len().to_string(),
        },
        Role::Text,
    );
    let newest_backup = backups.iter().filter_map(|b| b.content.ctime).max();
    d.field(
        "backups",
        match newest_backup {
            Some(t) => format!("{} (newest {} ago)", backups.len(), fmt::age(ctx.now - t)),
            None => "none".into(),
        },
        if backups.is_empty() {
            Role::Warn
        } else {
            Role::Text
        },
    );
    let mine: Vec<_> = world
        .actions
        .data
        .iter()
        .filter(|a| {
            !a.record.state.is_terminal()
                && a.record.action.guests().iter().any(|s| s.vmid == g.vmid)
        })
        .collect();
    if !mine.is_empty() {
        d.heading("in progress");
        for a in mine {
            d.text(
                format!(
                    "{}  {}  {}",
                    a.record.id,
                    a.record.state,
                    a.record.action.describe()
                ),
                status_role(a.record.state.as_str()),
            );
        }
    }
    d
}
