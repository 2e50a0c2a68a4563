//! vzdump archive names: `vzdump-{lxc|qemu}-{vmid}-{YYYY_MM_DD-HH_MM_SS}.{tar|vma}[.zst|.gz|.lzo]`.

/// The compression layer of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd,
    Gzip,
    Lzo,
}

impl Compression {
    /// The tool whose `-t` tests this layer, and the one that decompresses to stdout.
    pub fn tool(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Zstd => Some("zstd"),
            Compression::Gzip => Some("gzip"),
            Compression::Lzo => Some("lzop"),
        }
    }
}

/// What the archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// An LXC backup: a tar stream.
    Tar,
    /// A qemu backup: Proxmox's VMA format.
    Vma,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveName {
    pub guest_type: String,
    pub vmid: u32,
    /// `2026_01_29-02_00_05`
    pub stamp: String,
    pub container: Container,
    pub compression: Compression,
}

impl ArchiveName {
    /// Whether this is vzdump's own name (VMID of 3 to 9 digits, time as
    /// `YYYY_MM_DD-HH_MM_SS`): Proxmox prunes only such archives; one a
    /// person renamed (`vzdump-qemu-100-before-upgrade.vma.zst`) it leaves alone.
    pub fn is_std_name(&self) -> bool {
        let vmid_ok = (100..=999_999_999).contains(&self.vmid);
        let b = self.stamp.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let shape = b.len() == 19
            && (0..19).all(|i| match i {
                4 | 7 | 13 | 16 => b[i] == b'_',
                10 => b[i] == b'-',
                _ => digit(i),
            });
        vmid_ok && shape
    }

    /// The time in a standard name, read in the node's zone (vzdump writes
    /// it in the node's local time, and Proxmox reads it back the same way).
    pub fn stamp_time(&self, tz: &jiff::tz::TimeZone) -> Option<i64> {
        if !self.is_std_name() {
            return None;
        }
        let dt = jiff::civil::DateTime::strptime("%Y_%m_%d-%H_%M_%S", &self.stamp).ok()?;
        Some(
            dt.to_zoned_datetime(tz.clone())
                .ok()?
                .timestamp()
                .as_second(),
        )
    }
}

/// Read a file name (or a volid's last part) as a vzdump archive.
pub fn parse(file: &str) -> Option<ArchiveName> {
    let file = file.rsplit(['/', ':']).next()?;
    let rest = file.strip_prefix("vzdump-")?;
    let (guest_type, rest) = rest.split_once('-')?;
    if !matches!(guest_type, "lxc" | "qemu" | "openvz") {
        return None;
    }
    let (vmid, rest) = rest.split_once('-')?;
    let vmid: u32 = vmid.parse().ok()?;
    let (stamp, ext) = rest.split_once('.')?;
    let (container, compression) = match ext {
        "tar" => (Container::Tar, Compression::None),
        "tar.zst" => (Container::Tar, Compression::Zstd),
        "tar.gz" | "tgz" => (Container::Tar, Compression::Gzip),
        "tar.lzo" => (Container::Tar, Compression::Lzo),
        "vma" => (Container::Vma, Compression::None),
        "vma.zst" => (Container::Vma, Compression::Zstd),
        "vma.gz" => (Container::Vma, Compression::Gzip),
        "vma.lzo" => (Container::Vma, Compression::Lzo),
        _ => return None,
    };
    Some(ArchiveName {
        guest_type: guest_type.to_string(),
        vmid,
        stamp: stamp.to_string(),
        container,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let a = parse("nfs-backup:backup/vzdump-lxc-105-2026_11_20-20_08_53.tar.zst").expect("lxc");
        assert_eq!(
            (a.vmid, a.container, a.compression),
            (105, Container::Tar, Compression::Zstd)
        );
        let q = parse("/mnt/pve/x/dump/vzdump-qemu-102-2026_11_24-16_48_10.vma.gz").expect("qemu");
        assert_eq!(
            (q.guest_type.as_str(), q.container, q.compression),
            ("qemu", Container::Vma, Compression::Gzip)
        );
        assert_eq!(
            parse("vzdump-lxc-101-2026_01_29.tar.gz").map(|a| a.stamp),
            Some("2026_01_29".into())
        );
        assert!(parse("vzdump-lxc-x-2026.tar.gz").is_none());
        assert!(parse("backup.tar.gz").is_none());
        assert!(parse("vzdump-lxc-101-2026_01_29.tar.bz2").is_none());
    }

    /// vzdump's own names are "standard"; what a person renamed is not
    /// (Storage.pm archive_info), and its time is read in the node's zone.
    #[test]
    fn standard_names_and_their_time() {
        let std = parse("vzdump-qemu-100-2026_11_30-23_30_00.vma.zst").unwrap();
        assert!(std.is_std_name());
        let kiritimati = jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap();
        assert_eq!(
            std.stamp_time(&kiritimati),
            Some(1_796_031_000),
            "23:30 at UTC+14 is 09:30 UTC"
        );
        for renamed in [
            "vzdump-qemu-100-before-upgrade.vma.zst",
            "vzdump-lxc-101-2026_01_29.tar.gz",
            "vzdump-lxc-99-2026_11_30-23_30_00.tar.zst",
        ] {
            let a = parse(renamed).unwrap();
            assert!(!a.is_std_name(), "{renamed}");
            assert_eq!(a.stamp_time(&kiritimati), None);
        }
    }
}
