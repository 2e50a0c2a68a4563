//! Proxmox property strings (`virtio=BC:24:11:2E:C5:4A,bridge=vmbr0,firewall=1`).
//!
//! A property string is a comma-separated list of `key=value` pairs where one
//! key may be written bare (the "default key": the model of a qemu NIC, the
//! volume of a disk). [`PropString`] keeps every part as written, in order, so
//! that changing one key and writing the string back leaves the rest untouched.
//! The typed views below (`QemuNet`, `IpConfig`, `LxcNet`, `Disk`) read and set
//! the keys proxdeck cares about through it.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::macaddr::MacAddr;

/// One comma-separated part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    /// `None` for a bare value (the default key).
    key: Option<String>,
    value: String,
}

/// An ordered property string that round-trips exactly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropString {
    parts: Vec<Part>,
}

/// Why a property string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropError {
    #[error("empty property string")]
    Empty,
    #[error("empty element in '{0}'")]
    EmptyPart(String),
    #[error("'{0}': {1}")]
    Invalid(String, String),
}

impl PropString {
    pub fn parse(s: &str) -> Result<PropString, PropError> {
        if s.is_empty() {
            return Err(PropError::Empty);
        }
        let mut parts = Vec::new();
        for raw in s.split(',') {
            if raw.is_empty() {
                return Err(PropError::EmptyPart(s.to_string()));
            }
            parts.push(match raw.split_once('=') {
                Some((k, v)) => Part {
                    key: Some(k.to_string()),
                    value: v.to_string(),
                },
                None => Part {
                    key: None,
                    value: raw.to_string(),
                },
            });
        }
        Ok(PropString { parts })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.key.as_deref() == Some(key))
            .map(|p| p.value.as_str())
    }

    /// The bare (default-key) value, if any.
    pub fn bare(&self) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.key.is_none())
            .map(|p| p.value.as_str())
    }

    /// Set `key` in place, or append it at the end.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .parts
            .iter_mut()
            .find(|p| p.key.as_deref() == Some(key))
        {
            Some(p) => p.value = value,
            None => self.parts.push(Part {
                key: Some(key.to_string()),
                value,
            }),
        }
    }

    /// Remove `key`; true if it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.parts.len();
        self.parts.retain(|p| p.key.as_deref() != Some(key));
        before != self.parts.len()
    }

    /// Keys in order (bare values as `None`).
    pub fn keys(&self) -> impl Iterator<Item = Option<&str>> {
        self.parts.iter().map(|p| p.key.as_deref())
    }

    /// The first part, as written (key and value).
    fn first(&self) -> Option<&Part> {
        self.parts.first()
    }

    fn first_mut(&mut self) -> Option<&mut Part> {
        self.parts.first_mut()
    }
}

impl fmt::Display for PropString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match &p.key {
                Some(k) => write!(f, "{k}={}", p.value)?,
                None => f.write_str(&p.value)?,
            }
        }
        Ok(())
    }
}

/// The NIC models a qemu `net[n]` accepts (the model key doubles as the MAC key).
pub const QEMU_NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

/// A qemu `net[n]` value: `virtio=MAC,bridge=vmbr0,firewall=1,tag=10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuNet(PropString);

impl QemuNet {
    pub fn parse(s: &str) -> Result<QemuNet, PropError> {
        let p = PropString::parse(s)?;
        let net = QemuNet(p);
        if net.model().is_none() {
            return Err(PropError::Invalid(
                s.to_string(),
                "no NIC model (virtio, e1000, ...)".into(),
            ));
        }
        if let Some(mac) = net.mac_text()
            && mac.parse::<MacAddr>().is_err()
        {
            return Err(PropError::Invalid(
                s.to_string(),
                format!("invalid MAC {mac}"),
            ));
        }
        Ok(net)
    }

    /// A new NIC on `bridge` with `mac`.
    pub fn new(model: &str, mac: MacAddr, bridge: &str) -> QemuNet {
        let mut p = PropString::default();
        p.set(model, mac.to_pve());
        p.set("bridge", bridge);
        QemuNet(p)
    }

    /// The model: `model=` or `<model>=MAC` or a bare model name.
    pub fn model(&self) -> Option<&str> {
        if let Some(m) = self.0.get("model") {
            return Some(m);
        }
        let first = self.0.first()?;
        match &first.key {
            Some(k) if QEMU_NIC_MODELS.contains(&k.as_str()) => Some(k),
            None if QEMU_NIC_MODELS.contains(&first.value.as_str()) => Some(&first.value),
            _ => None,
        }
    }

    fn mac_text(&self) -> Option<&str> {
        if let Some(m) = self.0.get("macaddr") {
            return Some(m);
        }
        let first = self.0.first()?;
        match &first.key {
            Some(k) if QEMU_NIC_MODELS.contains(&k.as_str()) => Some(&first.value),
            _ => None,
        }
    }

    pub fn mac(&self) -> Option<MacAddr> {
        self.mac_text().and_then(|m| m.parse().ok())
    }

    /// Set the MAC where it is written (`macaddr=` or the model key), or as `<model>=MAC`.
    pub fn set_mac(&mut self, mac: MacAddr) {
        if self.0.get("macaddr").is_some() {
            self.0.set("macaddr", mac.to_pve());
            return;
        }
        let model = self.model().unwrap_or("virtio").to_string();
        if let Some(first) = self.0.first_mut() {
            if first.key.as_deref() == Some(model.as_str()) {
                first.value = mac.to_pve();
                return;
            }
            if first.key.is_none() && first.value == model {
                first.key = Some(model);
                first.value = mac.to_pve();
                return;
            }
        }
        self.0.set("macaddr", mac.to_pve());
    }

    pub fn bridge(&self) -> Option<&str> {
        self.0.get("bridge")
    }

    pub fn tag(&self) -> Option<u16> {
        self.0.get("tag").and_then(|t| t.parse().ok())
    }

    pub fn props(&self) -> &PropString {
        &self.0
    }
}

impl fmt::Display for QemuNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An address setting: a static CIDR, or one of the dynamic keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpSetting {
    Static(Ipv4Net),
    Dhcp,
    Manual,
}

impl IpSetting {
    fn parse(v: &str) -> Option<IpSetting> {
        match v {
            "dhcp" => Some(IpSetting::Dhcp),
            "manual" => Some(IpSetting::Manual),
            s => s.parse::<Ipv4Net>().ok().map(IpSetting::Static),
        }
    }

    pub fn address(&self) -> Option<Ipv4Addr> {
        match self {
            IpSetting::Static(net) => Some(net.addr()),
            _ => None,
        }
    }
}

impl fmt::Display for IpSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpSetting::Static(n) => n.fmt(f),
            IpSetting::Dhcp => f.write_str("dhcp"),
            IpSetting::Manual => f.write_str("manual"),
        }
    }
}

/// A qemu cloud-init `ipconfig[n]`: `ip=192.168.2.31/24,gw=192.168.2.1` or `ip=dhcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig(PropString);

impl IpConfig {
    pub fn parse(s: &str) -> Result<IpConfig, PropError> {
        let p = PropString::parse(s)?;
        if p.bare().is_some() {
            return Err(PropError::Invalid(
                s.to_string(),
                "every element needs a key".into(),
            ));
        }
        if let Some(ip) = p.get("ip")
            && IpSetting::parse(ip).is_none()
        {
            return Err(PropError::Invalid(
                s.to_string(),
                format!("invalid ip {ip}"),
            ));
        }
        if let Some(gw) = p.get("gw")
            && gw.parse::<Ipv4Addr>().is_err()
        {
            return Err(PropError::Invalid(
                s.to_string(),
                format!("invalid gw {gw}"),
            ));
        }
        Ok(IpConfig(p))
    }

    pub fn new(ip: IpSetting, gw: Option<Ipv4Addr>) -> IpConfig {
        let mut c = IpConfig(PropString::default());
        c.set_ip(ip);
        if let Some(gw) = gw {
            c.set_gw(gw);
        }
        c
    }

    pub fn ip(&self) -> Option<IpSetting> {
        self.0.get("ip").and_then(IpSetting::parse)
    }

    pub fn gw(&self) -> Option<Ipv4Addr> {
        self.0.get("gw").and_then(|g| g.parse().ok())
    }

    pub fn set_ip(&mut self, ip: IpSetting) {
        self.0.set("ip", ip.to_string());
    }

    pub fn set_gw(&mut self, gw: Ipv4Addr) {
        self.0.set("gw", gw.to_string());
    }
}

impl fmt::Display for IpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An LXC `net[n]`: `name=eth0,bridge=vmbr0,gw=..,hwaddr=..,ip=../24,type=veth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcNet(PropString);

impl LxcNet {
    pub fn parse(s: &str) -> Result<LxcNet, PropError> {
        let p = PropString::parse(s)?;
        if p.bare().is_some() {
            return Err(PropError::Invalid(
                s.to_string(),
                "every element needs a key".into(),
            ));
        }
        if p.get("name").is_none() {
            return Err(PropError::Invalid(
                s.to_string(),
                "the name key (eth0) is required".into(),
            ));
        }
        let net = LxcNet(p);
        if let Some(h) = net.0.get("hwaddr")
            && h.parse::<MacAddr>().is_err()
        {
            return Err(PropError::Invalid(
                s.to_string(),
                format!("invalid hwaddr {h}"),
            ));
        }
        if let Some(ip) = net.0.get("ip")
            && IpSetting::parse(ip).is_none()
        {
            return Err(PropError::Invalid(
                s.to_string(),
                format!("invalid ip {ip}"),
            ));
        }
        Ok(net)
    }

    /// A new veth NIC in Proxmox's canonical key order (name, then alphabetical).
    pub fn new(
        name: &str,
        bridge: &str,
        mac: MacAddr,
        ip: IpSetting,
        gw: Option<Ipv4Addr>,
    ) -> LxcNet {
        let mut p = PropString::default();
        p.set("name", name);
        p.set("bridge", bridge);
        if let Some(gw) = gw {
            p.set("gw", gw.to_string());
        }
        p.set("hwaddr", mac.to_pve());
        p.set("ip", ip.to_string());
        p.set("type", "veth");
        LxcNet(p)
    }

    pub fn name(&self) -> &str {
        self.0.get("name").unwrap_or("eth0")
    }
    pub fn bridge(&self) -> Option<&str> {
        self.0.get("bridge")
    }
    pub fn mac(&self) -> Option<MacAddr> {
        self.0.get("hwaddr").and_then(|m| m.parse().ok())
    }
    pub fn ip(&self) -> Option<IpSetting> {
        self.0.get("ip").and_then(IpSetting::parse)
    }
    pub fn gw(&self) -> Option<Ipv4Addr> {
        self.0.get("gw").and_then(|g| g.parse().ok())
    }
    pub fn set_mac(&mut self, mac: MacAddr) {
        self.0.set("hwaddr", mac.to_pve());
    }
    pub fn set_ip(&mut self, ip: IpSetting) {
        self.0.set("ip", ip.to_string());
    }
    pub fn set_gw(&mut self, gw: Ipv4Addr) {
        self.0.set("gw", gw.to_string());
    }
}

impl fmt::Display for LxcNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A disk or rootfs: `local-lvm:vm-101-disk-0,size=8G` (or `volume=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk(PropString);

impl Disk {
    pub fn parse(s: &str) -> Result<Disk, PropError> {
        let d = Disk(PropString::parse(s)?);
        if d.volume().is_none() {
            return Err(PropError::Invalid(s.to_string(), "no volume".into()));
        }
        Ok(d)
    }

    pub fn volume(&self) -> Option<&str> {
        self.0.get("volume").or_else(|| self.0.bare())
    }

    /// The storage part of the volume (`local-lvm`), or `None` for `none`/`cdrom` and paths.
    pub fn storage(&self) -> Option<&str> {
        let v = self.volume()?;
        let (storage, _) = v.split_once(':')?;
        Some(storage)
    }

    pub fn size(&self) -> Option<&str> {
        self.0.get("size")
    }

    pub fn media(&self) -> Option<&str> {
        self.0.get("media")
    }

    /// Size in bytes (`8G` → 8 GiB).
    pub fn size_bytes(&self) -> Option<u64> {
        parse_size(self.size()?)
    }

    /// A CD-ROM drive (ISO image, cloud-init drive, the host's drive or empty).
    pub fn is_cdrom(&self) -> bool {
        self.media() == Some("cdrom")
    }

    /// A cloud-init drive: qemu-server knows one by its volume name
    /// (`vm-N-cloudinit`), which migration regenerates instead of copying.
    pub fn is_cloudinit(&self) -> bool {
        self.volume().is_some_and(|v| {
            v.split_once(':')
                .map_or(v, |(_, name)| name)
                .split('/')
                .any(|part| {
                    part.strip_prefix("vm-")
                        .and_then(|rest| rest.split_once("-cloudinit"))
                        .is_some_and(|(id, _)| {
                            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
                        })
                })
        })
    }
}

impl fmt::Display for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `32G`, `512M`, `4T`, `1024K` or bytes → bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let n: f64 = num.parse().ok()?;
    let mult: u64 = match unit {
        "" | "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    Some((n * mult as f64) as u64)
}

/// Config keys that hold disks (qemu and lxc).
pub fn is_disk_key(key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    matches!(
        base,
        "ide" | "sata" | "scsi" | "virtio" | "efidisk" | "tpmstate" | "rootfs" | "mp"
    ) && (base == "rootfs" || base.len() < key.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// qemu-server knows a cloud-init drive by its volume name.
    #[test]
    fn cloud_init_drives_are_known_by_name() {
        for (v, ci) in [
            ("local-lvm:vm-101-cloudinit,media=cdrom", true),
            ("local:101/vm-101-cloudinit.qcow2,media=cdrom", true),
            ("local:iso/debian-12.iso,media=cdrom", false),
            ("none,media=cdrom", false),
            ("local-lvm:vm-101-disk-0,size=8G", false),
        ] {
            assert_eq!(Disk::parse(v).unwrap().is_cloudinit(), ci, "{v}");
        }
    }

    #[test]
    fn qemu_net_reads_and_sets_the_mac_in_place() {
        let mut n =
            QemuNet::parse("virtio=BC:24:11:2E:C5:4A,bridge=vmbr0,firewall=1,tag=10").unwrap();
        assert_eq!(n.model(), Some("virtio"));
        assert_eq!(n.mac().unwrap().to_string(), "bc:24:11:2e:c5:4a");
        assert_eq!(n.bridge(), Some("vmbr0"));
        assert_eq!(n.tag(), Some(10));
        n.set_mac("02:00:00:a2:65:01".parse().unwrap());
        assert_eq!(
            n.to_string(),
            "virtio=02:00:00:A2:65:01,bridge=vmbr0,firewall=1,tag=10"
        );

        let mut bare = QemuNet::parse("virtio,bridge=vmbr1").unwrap();
        assert_eq!(bare.mac(), None);
        bare.set_mac("02:00:00:a2:65:01".parse().unwrap());
        assert_eq!(bare.to_string(), "virtio=02:00:00:A2:65:01,bridge=vmbr1");

        let keyed = QemuNet::parse("model=e1000,macaddr=02:00:00:00:00:01,bridge=vmbr0").unwrap();
        assert_eq!(keyed.model(), Some("e1000"));
        assert_eq!(keyed.mac().unwrap().to_string(), "02:00:00:00:00:01");
        assert!(QemuNet::parse("bridge=vmbr0").is_err());
        assert!(QemuNet::parse("virtio=zz,bridge=vmbr0").is_err());
    }

    #[test]
    fn ipconfig_static_and_dhcp() {
        let c = IpConfig::parse("ip=192.168.2.31/24,gw=192.168.2.1").unwrap();
        assert_eq!(
            c.ip().unwrap().address(),
            Some("192.168.2.31".parse().unwrap())
        );
        assert_eq!(c.gw(), Some("192.168.2.1".parse().unwrap()));
        let d = IpConfig::parse("ip=dhcp").unwrap();
        assert_eq!(d.ip(), Some(IpSetting::Dhcp));
        assert!(IpConfig::parse("ip=300.1.1.1/24").is_err());
        let built = IpConfig::new(
            IpSetting::Static("192.168.2.101/24".parse().unwrap()),
            Some("192.168.2.1".parse().unwrap()),
        );
        assert_eq!(built.to_string(), "ip=192.168.2.101/24,gw=192.168.2.1");
    }

    #[test]
    fn lxc_net_round_trip_and_edit() {
        let s = "name=eth0,bridge=vmbr0,firewall=1,gw=10.1.1.1,hwaddr=BC:24:11:F4:0F:D2,ip=10.1.1.3/24,type=veth";
        let mut n = LxcNet::parse(s).unwrap();
        assert_eq!(n.to_string(), s);
        assert_eq!(n.ip().unwrap().address(), Some("10.1.1.3".parse().unwrap()));
        n.set_ip(IpSetting::Static("10.1.1.9/24".parse().unwrap()));
        n.set_mac("02:00:00:a2:c8:01".parse().unwrap());
        assert_eq!(
            n.to_string(),
            "name=eth0,bridge=vmbr0,firewall=1,gw=10.1.1.1,hwaddr=02:00:00:A2:C8:01,ip=10.1.1.9/24,type=veth"
        );
        assert!(LxcNet::parse("bridge=vmbr0").is_err());
    }

    #[test]
    fn disks() {
        let d = Disk::parse("local-lvm:vm-101-disk-0,size=8G").unwrap();
        assert_eq!(d.storage(), Some("local-lvm"));
        assert_eq!(d.size_bytes(), Some(8 << 30));
        let cd = Disk::parse("none,media=cdrom").unwrap();
        assert_eq!(cd.storage(), None);
        assert_eq!(cd.media(), Some("cdrom"));
        assert!(is_disk_key("scsi0") && is_disk_key("rootfs") && is_disk_key("mp3"));
        assert!(!is_disk_key("scsihw") && !is_disk_key("net0") && !is_disk_key("virtio"));
    }
}
