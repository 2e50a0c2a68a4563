//! MAC addresses: parsed case-insensitively, shown lowercase (as the design's
//! examples write them), written to Proxmox uppercase (as Proxmox stores them).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a MAC address like 02:00:00:a2:65:01")]
pub struct BadMac(pub String);

impl MacAddr {
    /// The form Proxmox stores (`BC:24:11:2E:C5:4A`).
    pub fn to_pve(self) -> String {
        self.to_string().to_uppercase()
    }

    /// Locally administered (second-lowest bit of the first byte set).
    pub fn is_local(self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Multicast (lowest bit of the first byte set): never valid for a NIC.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Why a NIC cannot carry this MAC (multicast, broadcast, all zeros), if it cannot.
    pub fn unusable(self) -> Option<&'static str> {
        if self.0 == [0; 6] {
            Some("all zeros")
        } else if self.0 == [0xff; 6] {
            Some("the broadcast address")
        } else if self.is_multicast() {
            Some("a multicast address (its first byte is odd)")
        } else {
            None
        }
    }
}

impl FromStr for MacAddr {
    type Err = BadMac;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(BadMac(s.to_string()));
        }
        let mut out = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 {
                return Err(BadMac(s.to_string()));
            }
            out[i] = u8::from_str_radix(p, 16).map_err(|_| BadMac(s.to_string()))?;
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_prints_both_forms() {
        let m: MacAddr = "02:00:00:A2:65:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:00:a2:65:01");
        assert_eq!(m.to_pve(), "02:00:00:A2:65:01");
        assert!(m.is_local() && !m.is_multicast());
        assert!("02:00:00:a2:65".parse::<MacAddr>().is_err());
        assert!("02:00:00:a2:65:0g".parse::<MacAddr>().is_err());
    }
}
