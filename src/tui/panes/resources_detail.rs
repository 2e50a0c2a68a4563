//! The Resources pane's detail: the cluster, a node, or a guest (its
//! status, addresses, origin and replicas, naming compliance).

use super::resources::{CLUSTER_KEY, frac, guest_status, vmid_of};
use super::{Ctx, Detail, load_role, status_role};
use crate::inventory::GuestInfo;
use crate::naming::Convention;
use crate::tui::fmt;
use crate::tui::table::Cell;
use crate::tui::theme::Role;
use crate::tui::world::World;

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
