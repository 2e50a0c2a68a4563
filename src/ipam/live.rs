//! Addresses and MACs in use on live guests (from the inventory).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::inventory::Inventory;
use crate::macaddr::MacAddr;

/// A live guest holding an address or MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub vmid: u32,
    pub name: String,
    pub node: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (vmid {}) on {}", self.name, self.vmid, self.node)
    }
}

/// What live guests use.
#[derive(Debug, Clone, Default)]
pub struct LiveAddresses {
    pub ips: HashMap<Ipv4Addr, Holder>,
    pub macs: HashMap<MacAddr, Holder>,
}

impl LiveAddresses {
    pub fn from_inventory(inv: &Inventory) -> LiveAddresses {
        let mut out = LiveAddresses::default();
        for g in &inv.guests {
            let h = Holder {
                vmid: g.vmid,
                name: g.name.clone(),
                node: g.node.clone(),
            };
            for n in &g.nics {
                if let Some(ip) = n.address() {
                    out.ips.entry(ip).or_insert_with(|| h.clone());
                }
                if let Some(mac) = n.mac {
                    out.macs.entry(mac).or_insert_with(|| h.clone());
                }
            }
        }
        out
    }

    /// Holder of `ip` other than `except` (the guest being configured).
    pub fn ip_holder(&self, ip: Ipv4Addr, except: Option<u32>) -> Option<&Holder> {
        self.ips.get(&ip).filter(|h| Some(h.vmid) != except)
    }

    pub fn mac_holder(&self, mac: MacAddr, except: Option<u32>) -> Option<&Holder> {
        self.macs.get(&mac).filter(|h| Some(h.vmid) != except)
    }
}
