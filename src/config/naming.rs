//! `naming-conventions.yml`: the naming pattern, the nodes, and each node's subnet
//! with its address ranges per guest type.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use super::reader::{Issues, Located, MapView};
use super::yaml::Node;
use crate::naming::Pattern;

/// The shipped default: the design's examples (`pve-db-01`, `pve-web-01`).
pub const DEFAULT_PATTERN: &str = "pve-{type}-{seq:02d}";

/// Everything `naming-conventions.yml` says.
#[derive(Debug, Clone)]
pub struct NamingConfig {
    pub pattern: Pattern,
    /// When set, hostnames follow this pattern instead of the guest name.
    pub hostname_pattern: Option<Pattern>,
    /// Prefix that turns a short node name (`node-01`) into the Proxmox node name (`pve-node-01`).
    pub node_prefix: String,
    pub nodes: Vec<NodeEntry>,
    /// Subnet per node, keyed by the node's short name.
    pub subnets: BTreeMap<String, NodeSubnet>,
    pub mac: MacConfig,
    /// Roles (`{type}` values) the convention knows; empty means any DNS-safe word.
    pub roles: Vec<String>,
    /// How new guests get their VMIDs.
    pub vmids: super::vmids::VmidConfig,
}

/// A cluster node as the convention names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// Short name, e.g. `node-01`.
    pub name: String,
    /// The Proxmox node name, e.g. `pve-node-01`.
    pub pve_name: String,
    /// The node's number (from the name's trailing digits unless given), used in MACs.
    pub number: u32,
    pub is_primary_template: bool,
}

/// An inclusive range of IPv4 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

impl IpRange {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.start <= ip && ip <= self.end
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    pub fn len(&self) -> u64 {
        u64::from(u32::from(self.end)) - u64::from(u32::from(self.start)) + 1
    }

    pub fn is_empty(&self) -> bool {
        self.start > self.end
    }

    /// Every address in the range, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        (u32::from(self.start)..=u32::from(self.end)).map(Ipv4Addr::from)
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// A node's network: subnet, gateway and the ranges handed out per guest type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSubnet {
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub vm_range: IpRange,
    pub lxc_range: IpRange,
    pub reserved: Vec<Ipv4Addr>,
    pub dns_servers: Vec<IpAddr>,
    pub bridge: String,
}

/// How MAC addresses are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacScheme {
    /// `02:00:00:a{node}:{host}:{nn}`: readable, derived from node and address.
    Sequential,
    /// Prefix plus random bytes, collision-checked.
    Random,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacConfig {
    pub scheme: MacScheme,
    pub prefix: [u8; 3],
}

impl NamingConfig {
    /// Find a node by short (`node-02`) or Proxmox (`pve-node-02`) name.
    pub fn node(&self, name: &str) -> Option<&NodeEntry> {
        self.nodes
            .iter()
            .find(|n| n.name == name || n.pve_name == name)
    }

    /// The subnet of a node given in either form.
    pub fn subnet(&self, node: &str) -> Option<&NodeSubnet> {
        self.node(node).and_then(|n| self.subnets.get(&n.name))
    }

    /// The primary template node, if one is marked.
    pub fn primary_node(&self) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.is_primary_template)
    }
}

const KNOWN_KEYS: &[&str] = &[
    "naming_pattern",
    "hostname_pattern",
    "node_prefix",
    "nodes",
    "ip_ranges",
    "mac",
    "roles",
    "vmid_pattern",
    "vmid_fallback",
];
const NODE_KEYS: &[&str] = &["name", "pve_name", "number", "is_primary_template"];

/// Read and validate the file's tree. Returns `None` when errors were recorded.
pub fn read(doc: &Node, issues: &mut Issues) -> Option<NamingConfig> {
    let map = MapView::new(doc, "", issues)?;
    let pattern = read_pattern(&map, issues, "naming_pattern", Some(DEFAULT_PATTERN));
    let hostname_pattern = map
        .has("hostname_pattern")
        .then(|| read_pattern(&map, issues, "hostname_pattern", None))
        .flatten();
    let node_prefix = map
        .opt_str(issues, "node_prefix")
        .map(|s| s.value)
        .unwrap_or_else(|| "pve-".to_string());
    let nodes = read_nodes(&map, issues, &node_prefix);
    let roles = read_roles(&map, issues);
    let mac = read_mac(&map, issues);
    let subnets = super::subnets::read_ranges(&map, issues, &nodes);
    let vmids = super::vmids::read(&map, issues, &nodes);
    map.finish(issues, KNOWN_KEYS);
    if nodes.iter().filter(|n| n.is_primary_template).count() > 1 {
        issues.error(
            doc.pos,
            "nodes",
            "more than one node has is_primary_template: true",
        );
    }
    if issues.has_errors() {
        return None;
    }
    Some(NamingConfig {
        pattern: pattern?,
        hostname_pattern,
        node_prefix,
        nodes,
        subnets,
        mac: mac?,
        roles,
        vmids,
    })
}

fn read_pattern(
    map: &MapView,
    issues: &mut Issues,
    key: &str,
    default: Option<&str>,
) -> Option<Pattern> {
    let Some(src) = map.opt_str(issues, key) else {
        return default.and_then(|d| Pattern::parse(d).ok());
    };
    match Pattern::parse(&src.value) {
        Ok(p) => {
            check_dns_safe_literals(&p, &src, issues);
            Some(p)
        }
        Err(e) => {
            issues.error(src.pos, &src.field, e.to_string());
            None
        }
    }
}

/// Literal parts of a pattern end up in hostnames, so they must be DNS-safe.
fn check_dns_safe_literals(p: &Pattern, src: &Located<String>, issues: &mut Issues) {
    for seg in p.segments() {
        if let crate::naming::Segment::Literal(lit) = seg
            && let Some(bad) = lit
                .chars()
                .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            issues.error(
                src.pos,
                &src.field,
                format!("'{bad}' cannot appear in a hostname (RFC 1123 allows a-z, 0-9 and '-')"),
            );
            return;
        }
    }
    if let Some(crate::naming::Segment::Literal(first)) = p.segments().first()
        && first.starts_with('-')
    {
        issues.error(src.pos, &src.field, "a hostname cannot start with '-'");
    }
    if let Some(crate::naming::Segment::Literal(last)) = p.segments().last()
        && last.ends_with('-')
    {
        issues.error(src.pos, &src.field, "a hostname cannot end with '-'");
    }
}

fn read_nodes(map: &MapView, issues: &mut Issues, prefix: &str) -> Vec<NodeEntry> {
    let mut nodes: Vec<NodeEntry> = Vec::new();
    let mut numbers: BTreeMap<u32, String> = BTreeMap::new();
    for (field, node) in map.opt_seq(issues, "nodes").unwrap_or_default() {
        let Some(entry) = MapView::new(node, &field, issues) else {
            continue;
        };
        let name = entry.req_str(issues, "name");
        let pve_name = entry.opt_str(issues, "pve_name");
        let number = entry.opt_u64(issues, "number");
        let primary = entry.opt_bool(issues, "is_primary_template");
        entry.finish(issues, NODE_KEYS);
        let Some(name) = name else { continue };
        if !is_dns_label(&name.value) {
            issues.error(
                name.pos,
                &name.field,
                format!("'{}' is not a valid node name (a DNS label)", name.value),
            );
            continue;
        }
        let pve_name = pve_name
            .map(|s| s.value)
            .unwrap_or_else(|| format!("{prefix}{}", name.value));
        if nodes
            .iter()
            .any(|n| n.name == name.value || n.pve_name == pve_name)
        {
            issues.error(
                name.pos,
                &name.field,
                format!("duplicate node name '{}'", name.value),
            );
            continue;
        }
        let number = match number {
            Some(n) => u32::try_from(n.value).ok(),
            None => trailing_number(&name.value),
        };
        let Some(number) = number else {
            issues.error(
                name.pos,
                &name.field,
                format!(
                    "cannot take a node number from '{}': add `number:` to this node",
                    name.value
                ),
            );
            continue;
        };
        if let Some(other) = numbers.insert(number, name.value.clone()) {
            issues.error(
                name.pos,
                &name.field,
                format!("node number {number} is also used by '{other}'"),
            );
        }
        nodes.push(NodeEntry {
            name: name.value,
            pve_name,
            number,
            is_primary_template: primary.is_some_and(|p| p.value),
        });
    }
    nodes
}

/// `node-01` → 1; `pve3` → 3; `alpha` → None.
fn trailing_number(name: &str) -> Option<u32> {
    let digits: String = name
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// RFC 1123 label: 1-63 of a-z, 0-9, '-', not starting or ending with '-'.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn read_roles(map: &MapView, issues: &mut Issues) -> Vec<String> {
    let mut roles = Vec::new();
    for role in map.opt_str_list(issues, "roles").unwrap_or_default() {
        if is_dns_label(&role.value) {
            roles.push(role.value);
        } else {
            issues.error(
                role.pos,
                &role.field,
                format!("role '{}' is not DNS-safe (a-z, 0-9, '-')", role.value),
            );
        }
    }
    roles
}

fn read_mac(map: &MapView, issues: &mut Issues) -> Option<MacConfig> {
    let mut mac = MacConfig {
        scheme: MacScheme::Sequential,
        prefix: [0x02, 0x00, 0x00],
    };
    let Some(view) = map.opt_map(issues, "mac") else {
        return Some(mac);
    };
    let mut ok = true;
    if let Some(scheme) = view.opt_str(issues, "scheme") {
        mac.scheme = match scheme.value.as_str() {
            "sequential" => MacScheme::Sequential,
            "random" => MacScheme::Random,
            other => {
                issues.error(
                    scheme.pos,
                    &scheme.field,
                    format!("unknown MAC scheme '{other}' (expected sequential or random)"),
                );
                ok = false;
                MacScheme::Sequential
            }
        };
    }
    if let Some(prefix) = view.opt_str(issues, "prefix") {
        match parse_mac_prefix(&prefix.value) {
            Some(p) if p[0] & 0x01 == 0 && p[0] & 0x02 != 0 => mac.prefix = p,
            Some(_) => {
                issues.error(
                    prefix.pos,
                    &prefix.field,
                    "the prefix must be a locally administered unicast address (second hex digit 2, 6, A or E)",
                );
                ok = false;
            }
            None => {
                issues.error(
                    prefix.pos,
                    &prefix.field,
                    format!("'{}' is not three hex bytes like 02:00:00", prefix.value),
                );
                ok = false;
            }
        }
    }
    view.finish(issues, &["scheme", "prefix"]);
    ok.then_some(mac)
}

fn parse_mac_prefix(s: &str) -> Option<[u8; 3]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 3 {
        return None;
    }
    let mut out = [0u8; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        out[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}
