//! Pure address arithmetic over a node's subnet and ranges.

use std::net::Ipv4Addr;

use super::IpamError;
use crate::config::{IpRange, NamingConfig, NodeEntry, NodeSubnet};
use crate::pve::types::GuestKind;

/// A node's subnet resolved from either name form.
pub fn subnet_of<'a>(
    naming: &'a NamingConfig,
    node: &str,
) -> Result<(&'a NodeEntry, &'a NodeSubnet), IpamError> {
    let entry = naming
        .node(node)
        .ok_or_else(|| IpamError::UnknownNode(node.to_string()))?;
    let subnet = naming
        .subnets
        .get(&entry.name)
        .ok_or_else(|| IpamError::NoSubnet(entry.name.clone()))?;
    Ok((entry, subnet))
}

/// The range a guest type draws from.
pub fn range_for(subnet: &NodeSubnet, kind: GuestKind) -> IpRange {
    match kind {
        GuestKind::Qemu => subnet.vm_range,
        GuestKind::Lxc => subnet.lxc_range,
    }
}

/// The origin's host address moved into the target subnet
/// (192.168.1.101 in 192.168.1.0/24 → 192.168.2.101 in 192.168.2.0/24).
pub fn same_host_in(
    origin: Ipv4Addr,
    origin_net: &ipnet::Ipv4Net,
    target: &NodeSubnet,
) -> Option<Ipv4Addr> {
    if !origin_net.contains(&origin) {
        return None;
    }
    let offset = u32::from(origin) - u32::from(origin_net.network());
    let candidate = u32::from(target.subnet.network()).checked_add(offset)?;
    let ip = Ipv4Addr::from(candidate);
    target.subnet.contains(&ip).then_some(ip)
}

/// Never hand out: the network, the broadcast, the gateway, reserved addresses.
pub fn is_assignable(subnet: &NodeSubnet, ip: Ipv4Addr) -> bool {
    ip != subnet.gateway
        && ip != subnet.subnet.network()
        && ip != subnet.subnet.broadcast()
        && !subnet.reserved.contains(&ip)
}

/// Check an address a person asked for: inside the subnet and the type's range, not special.
pub fn check_wanted(
    node: &str,
    subnet: &NodeSubnet,
    kind: GuestKind,
    ip: Ipv4Addr,
) -> Result<(), IpamError> {
    if !subnet.subnet.contains(&ip) {
        return Err(IpamError::OutsideSubnet {
            ip,
            node: node.to_string(),
            subnet: subnet.subnet.to_string(),
        });
    }
    if ip == subnet.gateway {
        return Err(IpamError::Gateway {
            ip,
            node: node.to_string(),
        });
    }
    if subnet.reserved.contains(&ip) {
        return Err(IpamError::ReservedAddress {
            ip,
            node: node.to_string(),
        });
    }
    let range = range_for(subnet, kind);
    if !range.contains(ip) {
        return Err(IpamError::OutsideRange {
            ip,
            node: node.to_string(),
            kind: super::type_name(kind),
            range: range.to_string(),
        });
    }
    Ok(())
}
