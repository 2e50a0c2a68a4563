//! Proxmox task ids: `UPID:node:pid:pstart:starttime:type:id:user:`.

use std::fmt;
use std::str::FromStr;

/// A parsed UPID. The original text is kept so that it is sent back byte for byte.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    raw: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    pub task_type: String,
    /// May be empty (vzdump of several guests, aptupdate).
    pub id: String,
    /// `user@realm` or `user@realm!tokenid`.
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a Proxmox task id (UPID:node:pid:pstart:starttime:type:id:user:)")]
pub struct BadUpid(pub String);

impl Upid {
    /// Build a UPID the way Proxmox encodes one (`%08X` fields).
    pub fn new(
        node: &str,
        pid: u32,
        pstart: u64,
        starttime: i64,
        task_type: &str,
        id: &str,
        user: &str,
    ) -> Upid {
        let raw = format!(
            "UPID:{node}:{pid:08X}:{pstart:08X}:{:08X}:{task_type}:{id}:{user}:",
            starttime as u32
        );
        Upid {
            raw,
            node: node.into(),
            pid,
            pstart,
            starttime,
            task_type: task_type.into(),
            id: id.into(),
            user: user.into(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

fn hex(s: &str, min: usize, max: usize) -> Option<u64> {
    if s.len() < min || s.len() > max || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn valid_node(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn valid_field(s: &str, may_be_empty: bool) -> bool {
    (may_be_empty || !s.is_empty()) && !s.chars().any(|c| c == ':' || c == '/' || c.is_whitespace())
}

impl FromStr for Upid {
    type Err = BadUpid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadUpid(s.to_string());
        let rest = s.strip_prefix("UPID:").ok_or_else(bad)?;
        let rest = rest.strip_suffix(':').ok_or_else(bad)?;
        let f: Vec<&str> = rest.split(':').collect();
        if f.len() != 7 {
            return Err(bad());
        }
        if !valid_node(f[0])
            || !valid_field(f[4], false)
            || !valid_field(f[5], true)
            || !valid_field(f[6], false)
        {
            return Err(bad());
        }
        Ok(Upid {
            raw: s.to_string(),
            node: f[0].to_string(),
            pid: hex(f[1], 8, 8).ok_or_else(bad)? as u32,
            pstart: hex(f[2], 8, 9).ok_or_else(bad)?,
            starttime: hex(f[3], 8, 8).ok_or_else(bad)? as i64,
            task_type: f[4].to_string(),
            id: f[5].to_string(),
            user: f[6].to_string(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upid({})", self.raw)
    }
}

impl serde::Serialize for Upid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for Upid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_upids_decode_consistently() {
        // From a PVE 6.4 task list: pid 3539, pstart 474062216, starttime 1629092709.
        let u: Upid = "UPID:iaclab-01-01:00000DD3:1C419D88:6119FB65:srvreload:networking:root@pam:"
            .parse()
            .unwrap();
        assert_eq!(
            (u.pid, u.pstart, u.starttime),
            (3539, 474062216, 1629092709)
        );
        assert_eq!(u.task_type, "srvreload");
        let clone: Upid = "UPID:x:00003836:1FE22F41:619510AC:qmclone:999:terraform-prov@pve:"
            .parse()
            .unwrap();
        assert_eq!(clone.id, "999");
        let vzdump: Upid = "UPID:pve:0001A2B3:01234567:67A0B1C2:vzdump::root@pam!proxdeck:"
            .parse()
            .unwrap();
        assert_eq!(vzdump.id, "");
        assert_eq!(vzdump.user, "root@pam!proxdeck");
        let nine: Upid = "UPID:n1:00000001:123456789:67A0B1C2:qmstart:100:root@pam:"
            .parse()
            .unwrap();
        assert_eq!(nine.pstart, 0x123456789);
    }

    #[test]
    fn malformed_upids_are_refused() {
        for s in [
            "UPID:node1:00001234:00005678:12345678:vzdump:root@pam:",
            "UPID:node1:1234:00005678:12345678:vzdump::root@pam:",
            "UPID:node.x:00001234:00005678:12345678:vzdump::root@pam:",
            "UPID:n:00001234:00005678:12345678:vzdump::root@pam",
            "",
        ] {
            assert!(s.parse::<Upid>().is_err(), "{s}");
        }
    }
}
