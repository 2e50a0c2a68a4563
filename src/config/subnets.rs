//! The `ip_ranges` section of `naming-conventions.yml`: each node's subnet,
//! gateway, bridge, DNS servers and its address ranges per guest type, with
//! every overlap and address outside its subnet reported where it was written.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use super::naming::{IpRange, NodeEntry, NodeSubnet};
use super::reader::{Issues, Located, MapView, as_str};

/// The keys of one node's entry.
const RANGE_KEYS: &[&str] = &[
    "subnet",
    "gateway",
    "vm_range_start",
    "vm_range_end",
    "lxc_range_start",
    "lxc_range_end",
    "reserved",
    "dns_servers",
    "bridge",
];

pub(super) fn read_ranges(
    map: &MapView,
    issues: &mut Issues,
    nodes: &[NodeEntry],
) -> BTreeMap<String, NodeSubnet> {
    let mut out = BTreeMap::new();
    let Some(ranges) = map.opt_map(issues, "ip_ranges") else {
        return out;
    };
    let mut seen_subnets: Vec<(Ipv4Net, String)> = Vec::new();
    for (key, node) in ranges.entries() {
        let field = format!("ip_ranges.{}", key.name);
        let Some(entry) = nodes
            .iter()
            .find(|n| n.name == key.name || n.pve_name == key.name)
        else {
            issues.error(
                key.pos,
                &field,
                format!(
                    "'{}' is not a node listed under `nodes` (known: {})",
                    key.name,
                    nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        let Some(view) = MapView::new(node, &field, issues) else {
            continue;
        };
        if out.contains_key(&entry.name) {
            issues.error(
                key.pos,
                &field,
                format!("node '{}' has two ip_ranges entries", entry.name),
            );
        }
        if let Some(subnet) = read_subnet(&view, issues) {
            if let Some((_, other)) = seen_subnets.iter().find(|(s, _)| {
                s.contains(&subnet.subnet.network()) || subnet.subnet.contains(&s.network())
            }) {
                issues.error(
                    view.pos,
                    &view.field("subnet"),
                    format!("subnet {} overlaps the subnet of '{other}'", subnet.subnet),
                );
            }
            seen_subnets.push((subnet.subnet, entry.name.clone()));
            out.insert(entry.name.clone(), subnet);
        }
        view.finish(issues, RANGE_KEYS);
    }
    out
}

fn read_ip(view: &MapView, issues: &mut Issues, key: &str) -> Option<Located<Ipv4Addr>> {
    let s = view.opt_str(issues, key)?;
    match s.value.parse::<Ipv4Addr>() {
        Ok(ip) => Some(Located {
            value: ip,
            pos: s.pos,
            field: s.field,
        }),
        Err(_) => {
            issues.error(
                s.pos,
                &s.field,
                format!("'{}' is not an IPv4 address", s.value),
            );
            None
        }
    }
}

/// Read one node's subnet and check every address against it.
fn read_subnet(view: &MapView, issues: &mut Issues) -> Option<NodeSubnet> {
    let errors_before = issues.list.len();
    let subnet = match view.req_str(issues, "subnet") {
        Some(s) => match s.value.parse::<Ipv4Net>() {
            Ok(net) if net.trunc() == net => Some(net),
            Ok(net) => {
                issues.error(
                    s.pos,
                    &s.field,
                    format!(
                        "'{}' has host bits set; did you mean {}?",
                        s.value,
                        net.trunc()
                    ),
                );
                None
            }
            Err(_) => {
                issues.error(
                    s.pos,
                    &s.field,
                    format!(
                        "'{}' is not a valid CIDR subnet (like 192.168.2.0/24)",
                        s.value
                    ),
                );
                None
            }
        },
        None => None,
    };
    let gateway = read_ip(view, issues, "gateway");
    let vm_start = read_ip(view, issues, "vm_range_start");
    let vm_end = read_ip(view, issues, "vm_range_end");
    let lxc_start = read_ip(view, issues, "lxc_range_start");
    let lxc_end = read_ip(view, issues, "lxc_range_end");
    let reserved = read_ip_list(view, issues, "reserved");
    let dns = view.opt_str_list(issues, "dns_servers").unwrap_or_default();
    let bridge = view.opt_str(issues, "bridge");
    let mut dns_servers = Vec::new();
    for d in dns {
        match d.value.parse::<IpAddr>() {
            Ok(ip) => dns_servers.push(ip),
            Err(_) => issues.error(
                d.pos,
                &d.field,
                format!("'{}' is not an IP address", d.value),
            ),
        }
    }
    if let Some(b) = &bridge
        && (b.value.is_empty()
            || b.value.len() > 15
            || !b
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
    {
        issues.error(
            b.pos,
            &b.field,
            format!("'{}' is not a bridge name like vmbr0", b.value),
        );
    }
    let subnet = subnet?;
    let first = subnet.hosts().next()?;
    let last = subnet.hosts().last()?;

    let gateway_ip = gateway.as_ref().map(|g| g.value).unwrap_or(first);
    let vm_start_ip = vm_start.as_ref().map(|v| v.value);
    let lxc_start_ip = lxc_start.as_ref().map(|v| v.value);
    let (Some(vm_start_ip), Some(lxc_start_ip)) = (vm_start_ip, lxc_start_ip) else {
        if vm_start.is_none() {
            issues.error(
                view.pos,
                &view.field("vm_range_start"),
                "required field is missing",
            );
        }
        if lxc_start.is_none() {
            issues.error(
                view.pos,
                &view.field("lxc_range_start"),
                "required field is missing",
            );
        }
        return None;
    };
    // Unset ends: the VM range runs up to the LXC range (the design's .100-.199 / .200-.254).
    let vm_end_ip = vm_end.as_ref().map(|v| v.value).unwrap_or_else(|| {
        if lxc_start_ip > vm_start_ip {
            Ipv4Addr::from(u32::from(lxc_start_ip) - 1)
        } else {
            last
        }
    });
    let lxc_end_ip = lxc_end.as_ref().map(|v| v.value).unwrap_or_else(|| {
        if vm_start_ip > lxc_start_ip {
            Ipv4Addr::from(u32::from(vm_start_ip) - 1)
        } else {
            last
        }
    });
    let inside = |ip: Ipv4Addr| subnet.hosts().next().is_some_and(|f| f <= ip) && ip <= last;
    let check_inside = |l: &Option<Located<Ipv4Addr>>, what: &str, issues: &mut Issues| {
        if let Some(l) = l
            && !inside(l.value)
        {
            issues.error(
                l.pos,
                &l.field,
                format!(
                    "{what} {} is outside the subnet {subnet} (usable {first}-{last})",
                    l.value
                ),
            );
        }
    };
    check_inside(&gateway, "gateway", issues);
    check_inside(&vm_start, "vm_range_start", issues);
    check_inside(&vm_end, "vm_range_end", issues);
    check_inside(&lxc_start, "lxc_range_start", issues);
    check_inside(&lxc_end, "lxc_range_end", issues);
    for r in &reserved {
        if !subnet.contains(&r.value) {
            issues.error(
                r.pos,
                &r.field,
                format!(
                    "reserved address {} is outside the subnet {subnet}",
                    r.value
                ),
            );
        }
    }
    let vm_range = IpRange {
        start: vm_start_ip,
        end: vm_end_ip,
    };
    let lxc_range = IpRange {
        start: lxc_start_ip,
        end: lxc_end_ip,
    };
    let vm_pos = vm_end
        .as_ref()
        .map(|v| (v.pos, v.field.clone()))
        .unwrap_or_else(|| {
            let s = vm_start.as_ref().map(|v| (v.pos, v.field.clone()));
            s.unwrap_or((view.pos, view.field("vm_range_start")))
        });
    if vm_range.is_empty() {
        issues.error(
            vm_pos.0,
            &vm_pos.1,
            format!("the VM range {vm_range} is empty (end before start)"),
        );
    }
    let lxc_pos = lxc_end
        .as_ref()
        .map(|v| (v.pos, v.field.clone()))
        .unwrap_or_else(|| {
            let s = lxc_start.as_ref().map(|v| (v.pos, v.field.clone()));
            s.unwrap_or((view.pos, view.field("lxc_range_start")))
        });
    if lxc_range.is_empty() {
        issues.error(
            lxc_pos.0,
            &lxc_pos.1,
            format!("the LXC range {lxc_range} is empty (end before start)"),
        );
    }
    if !vm_range.is_empty() && !lxc_range.is_empty() && vm_range.overlaps(&lxc_range) {
        let (pos, field) = lxc_start
            .as_ref()
            .map(|l| (l.pos, l.field.clone()))
            .unwrap_or(lxc_pos);
        issues.error(
            pos,
            &field,
            format!("the LXC range {lxc_range} overlaps the VM range {vm_range}"),
        );
    }
    for (range, what) in [(&vm_range, "VM"), (&lxc_range, "LXC")] {
        if range.contains(gateway_ip) {
            let (pos, field) = gateway
                .as_ref()
                .map(|g| (g.pos, g.field.clone()))
                .unwrap_or((view.pos, view.field("gateway")));
            issues.error(
                pos,
                &field,
                format!("the gateway {gateway_ip} lies inside the {what} range {range}"),
            );
        }
    }
    if issues.errors_since(errors_before) {
        return None;
    }
    Some(NodeSubnet {
        subnet,
        gateway: gateway_ip,
        vm_range,
        lxc_range,
        reserved: reserved.into_iter().map(|r| r.value).collect(),
        dns_servers,
        bridge: bridge.map(|b| b.value).unwrap_or_else(|| "vmbr0".into()),
    })
}

fn read_ip_list(view: &MapView, issues: &mut Issues, key: &str) -> Vec<Located<Ipv4Addr>> {
    let mut out = Vec::new();
    let Some(items) = view.opt_seq(issues, key) else {
        return out;
    };
    for (field, node) in items {
        let Some(s) = as_str(node, &field, issues) else {
            continue;
        };
        match s.value.parse::<Ipv4Addr>() {
            Ok(ip) => out.push(Located {
                value: ip,
                pos: s.pos,
                field,
            }),
            Err(_) => issues.error(
                s.pos,
                &field,
                format!("'{}' is not an IPv4 address", s.value),
            ),
        }
    }
    out
}
