//! IP map: one node subnet as a grid of its addresses, coloured by state
//! (gateway, VM and container ranges, free, reserved, active, observed,
//! conflict), with the holder, MAC, hostname and history of a selected cell.

use std::net::Ipv4Addr;

use super::{Ctx, Detail};
use crate::config::NodeSubnet;
use crate::ipam::reconcile::Conflict;
use crate::ipam::{AllocState, Allocation};
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::World;

/// Addresses per grid row.
pub const GRID_WIDTH: usize = 16;

/// What an address is, for colour and legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    Network,
    Gateway,
    ReservedByConfig,
    Free,
    FreeVm,
    FreeLxc,
    Reserved,
    Active,
    Observed,
    Conflict,
}

impl CellState {
    pub fn role(self) -> Role {
        match self {
            CellState::Network => Role::Muted,
            CellState::Gateway => Role::Gateway,
            CellState::ReservedByConfig => Role::Muted,
            CellState::Free => Role::Free,
            CellState::FreeVm => Role::RangeVm,
            CellState::FreeLxc => Role::RangeLxc,
            CellState::Reserved => Role::Reserved,
            CellState::Active => Role::Active,
            CellState::Observed => Role::Observed,
            CellState::Conflict => Role::Conflict,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CellState::Network => "network/broadcast",
            CellState::Gateway => "gateway",
            CellState::ReservedByConfig => "reserved (config)",
            CellState::Free => "outside ranges",
            CellState::FreeVm => "free VM",
            CellState::FreeLxc => "free LXC",
            CellState::Reserved => "reserved",
            CellState::Active => "active",
            CellState::Observed => "observed",
            CellState::Conflict => "conflict",
        }
    }

    pub const LEGEND: [CellState; 8] = [
        CellState::Gateway,
        CellState::FreeVm,
        CellState::FreeLxc,
        CellState::Free,
        CellState::Reserved,
        CellState::Active,
        CellState::Observed,
        CellState::Conflict,
    ];
}

/// The node (short name) whose subnet is shown.
pub fn current_node(ctx: &Ctx<'_>) -> Option<String> {
    let naming = &ctx.config.naming;
    ctx.ip
        .node
        .clone()
        .filter(|n| naming.subnets.contains_key(n))
        .or_else(|| naming.subnets.keys().next().cloned())
}

fn conflict_ips(c: &Conflict) -> Vec<Ipv4Addr> {
    match c {
        Conflict::DuplicateIp { ip, .. }
        | Conflict::OutsideSubnet { ip, .. }
        | Conflict::NoSubnet { ip, .. }
        | Conflict::HeldByOther { ip, .. }
        | Conflict::StaleRecord { ip, .. } => vec![*ip],
        Conflict::DuplicateMac { .. } => vec![],
    }
}

/// Who holds an address: the live record and the live guests.
pub struct CellInfo<'a> {
    pub ip: Ipv4Addr,
    pub state: CellState,
    pub allocation: Option<&'a Allocation>,
    pub live: Vec<(&'a str, u32)>,
}

pub fn cell_info<'a>(world: &'a World, subnet: &NodeSubnet, ip: Ipv4Addr) -> CellInfo<'a> {
    let alloc = world
        .ip
        .data
        .allocations
        .iter()
        .filter(|a| a.ip == ip && a.state != AllocState::Released)
        .min_by_key(|a| match a.state {
            AllocState::Active => 0,
            AllocState::Reserved => 1,
            _ => 2,
        });
    let live: Vec<(&str, u32)> = world
        .inv()
        .guests
        .iter()
        .filter(|g| g.nics.iter().any(|n| n.address() == Some(ip)))
        .map(|g| (g.name.as_str(), g.vmid))
        .collect();
    let conflict = world
        .ip
        .data
        .conflicts
        .iter()
        .any(|c| conflict_ips(c).contains(&ip))
        || live.len() > 1;
    let state = if conflict {
        CellState::Conflict
    } else if ip == subnet.subnet.network() || ip == subnet.subnet.broadcast() {
        CellState::Network
    } else if ip == subnet.gateway {
        CellState::Gateway
    } else if let Some(a) = alloc {
        match a.state {
            AllocState::Active => CellState::Active,
            AllocState::Reserved => CellState::Reserved,
            _ => CellState::Observed,
        }
    } else if !live.is_empty() {
        CellState::Observed
    } else if subnet.reserved.contains(&ip) {
        CellState::ReservedByConfig
    } else if subnet.vm_range.contains(ip) {
        CellState::FreeVm
    } else if subnet.lxc_range.contains(ip) {
        CellState::FreeLxc
    } else {
        CellState::Free
    };
    CellInfo {
        ip,
        state,
        allocation: alloc,
        live,
    }
}

/// Every address of the shown subnet, in order (the grid's cells).
pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let columns = vec![
        Column::new("IP", 15, 0),
        Column::new("STATE", 10, 0),
        Column::new("GUEST", 16, 0).grow(),
        Column::new("MAC", 17, 1),
        Column::new("HOSTNAME", 16, 2),
    ];
    let Some(node) = current_node(ctx) else {
        return Table {
            columns,
            rows: Vec::new(),
            empty: "no subnets in naming-conventions.yml (ip_ranges)".into(),
            total: 0,
        };
    };
    let Some(subnet) = ctx.config.naming.subnets.get(&node) else {
        return Table::default();
    };
    let first = u32::from(subnet.subnet.network());
    // Large subnets are shown up to their first 65536 addresses.
    let count = (1u64 << (32 - u32::from(subnet.subnet.prefix_len()))).min(1 << 16) as u32;
    let rows = (0..count)
        .map(|i| {
            let ip = Ipv4Addr::from(first + i);
            let info = cell_info(world, subnet, ip);
            let guest = match (info.allocation, info.live.first()) {
                (Some(a), _) => a.holder(),
                (None, Some((n, v))) => format!("{n} ({v})"),
                _ => String::new(),
            };
            let mac = info
                .allocation
                .and_then(|a| a.mac)
                .map(|m| m.to_string())
                .unwrap_or_default();
            let host = info
                .allocation
                .and_then(|a| a.hostname.clone())
                .unwrap_or_default();
            Row {
                key: ip.to_string(),
                depth: 0,
                cells: vec![
                    Cell::text(ip.to_string()),
                    Cell::new(info.state.name(), info.state.role()),
                    Cell::text(guest.clone()),
                    Cell::muted(mac.clone()),
                    Cell::muted(host.clone()),
                ],
                sort: vec![
                    SortKey::Num(f64::from(u32::from(ip))),
                    SortKey::None,
                    SortKey::None,
                    SortKey::None,
                    SortKey::None,
                ],
                search: format!("{ip} {} {guest} {mac} {host}", info.state.name()),
            }
        })
        .collect();
    Table {
        columns,
        rows,
        empty: String::new(),
        total: 0,
    }
}

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    let ip: Ipv4Addr = key.parse().ok()?;
    let node = current_node(ctx)?;
    let subnet = ctx.config.naming.subnets.get(&node)?;
    let info = cell_info(world, subnet, ip);
    let mut d = Detail::new(format!("{ip} on {node}"));
    d.field("state", info.state.name(), info.state.role());
    if subnet.vm_range.contains(ip) {
        d.field("range", format!("VM {}", subnet.vm_range), Role::Text);
    } else if subnet.lxc_range.contains(ip) {
        d.field("range", format!("LXC {}", subnet.lxc_range), Role::Text);
    }
    if let Some(a) = info.allocation {
        d.field("held by", a.holder(), Role::Text);
        if let Some(m) = a.mac {
            d.field("mac", m.to_string(), Role::Text);
        }
        if let Some(h) = &a.hostname {
            d.field("hostname", h.clone(), Role::Text);
        }
        d.field(
            "since",
            ctx.time(a.allocated_at, "%Y-%m-%d %H:%M"),
            Role::Text,
        );
        d.field("by", a.allocated_by.clone(), Role::Muted);
    }
    for (name, vmid) in &info.live {
        d.field("configured", format!("on {name} ({vmid})"), Role::Text);
    }
    let history: Vec<&Allocation> = world
        .ip
        .data
        .allocations
        .iter()
        .filter(|a| a.ip == ip)
        .collect();
    if !history.is_empty() {
        d.heading("history");
        for a in history {
            d.line(vec![
                Cell::muted(ctx.time(a.allocated_at, "%Y-%m-%d %H:%M ")),
                Cell::text(format!("{:<9}", a.state.as_str())),
                Cell::text(a.holder()),
                Cell::muted(
                    a.released_at
                        .map(|t| format!("  released {}", ctx.time(t, "%Y-%m-%d %H:%M")))
                        .unwrap_or_default(),
                ),
            ]);
        }
    }
    let conflicts: Vec<&Conflict> = world
        .ip
        .data
        .conflicts
        .iter()
        .filter(|c| conflict_ips(c).contains(&ip))
        .collect();
    if !conflicts.is_empty() {
        d.heading("conflicts");
        for c in conflicts {
            d.text(c.to_string(), Role::Error);
        }
    }
    Some(d)
}

/// Conflicts touching this node's subnet (and duplicate MACs anywhere).
pub fn subnet_conflicts<'a>(world: &'a World, subnet: &NodeSubnet) -> Vec<&'a Conflict> {
    world
        .ip
        .data
        .conflicts
        .iter()
        .filter(|c| {
            let ips = conflict_ips(c);
            ips.is_empty() || ips.iter().any(|ip| subnet.subnet.contains(ip))
        })
        .collect()
}
