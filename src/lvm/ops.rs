//! The LVM commands proxdeck runs and how their answers are read.

use std::time::Duration;

use crate::host::{HostCommand, HostOutput};

/// The fields proxdeck reads from `lvs`.
pub const LVS_FIELDS: &str = "lv_name,vg_name,lv_attr,lv_size,origin,snap_percent,lv_time";

/// How big a snapshot's copy-on-write space is.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotSize {
    /// Percent of the origin's size.
    Percent(f64),
    /// An LVM size (`8G`, `512M`), passed to `lvcreate -L` as written.
    Fixed(String),
}

impl SnapshotSize {
    pub fn parse(s: &str) -> Option<SnapshotSize> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().ok()?;
            return (v > 0.0 && v <= 100.0).then_some(SnapshotSize::Percent(v));
        }
        let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
        let ok = num.parse::<f64>().is_ok_and(|v| v > 0.0)
            && matches!(unit.to_ascii_lowercase().as_str(), "k" | "m" | "g" | "t");
        ok.then(|| SnapshotSize::Fixed(s.to_string()))
    }

    /// The `-L` argument for an origin of `origin_bytes`.
    pub fn lvcreate_size(&self, origin_bytes: u64) -> String {
        match self {
            SnapshotSize::Percent(p) => {
                // At least 64 MiB: smaller snapshots overflow at once.
                let bytes = ((origin_bytes as f64) * p / 100.0).max(64.0 * 1024.0 * 1024.0);
                format!("{}b", bytes.round() as u64)
            }
            SnapshotSize::Fixed(s) => s.clone(),
        }
    }
}

pub fn lvs() -> HostCommand {
    HostCommand::new("lvs").args([
        "-a",
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        LVS_FIELDS,
    ])
}

/// `lvcreate -s`: with a size, a copy-on-write snapshot in the volume
/// group's free space; without one (a thin volume's), a thin snapshot in its pool.
pub fn create(volume: &str, name: &str, size: Option<&str>) -> HostCommand {
    match size {
        Some(size) => HostCommand::new("lvcreate").args(["-s", "-L", size, "-n", name, volume]),
        None => HostCommand::new("lvcreate").args(["-s", "-n", name, volume]),
    }
}

/// Merge a snapshot back into its origin, reporting progress each second.
pub fn merge(vg: &str, name: &str) -> HostCommand {
    HostCommand::new("lvconvert")
        .args(["--merge", "-i", "1", &format!("{vg}/{name}")])
        .timeout(Duration::from_secs(3600))
}

pub fn remove(vg: &str, name: &str) -> HostCommand {
    HostCommand::new("lvremove").args(["-y", &format!("{vg}/{name}")])
}

/// What `lvconvert --merge` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Merged now: the origin has the snapshot's contents (a thin snapshot
    /// simply takes the origin's place: "Volume … replaced origin …").
    Merged,
    /// The origin is open (a mounted root): LVM merges at its next
    /// activation, which for the root volume means the next reboot.
    Deferred,
}

/// Read `lvconvert --merge`'s answer; `Err` carries LVM's own message.
pub fn merge_outcome(out: &HostOutput) -> Result<MergeOutcome, String> {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    if !out.ok() {
        return Err(out.message());
    }
    if all.contains("Delaying merge") || all.contains("will occur on next activation") {
        Ok(MergeOutcome::Deferred)
    } else if all.contains("Merged: 100")
        || all.contains("Merging of volume")
        || all.contains("replaced origin")
    {
        Ok(MergeOutcome::Merged)
    } else {
        Err(format!("unexpected lvconvert output: {}", out.message()))
    }
}

/// `{date}` and `{time}` filled in (local time), as LVM allows in names.
pub fn snapshot_name(pattern: &str, now: i64) -> String {
    pattern
        .replace("{date}", &crate::timefmt::format_local(now, "%Y-%m-%d"))
        .replace("{time}", &crate::timefmt::format_local(now, "%H%M"))
}

/// Whether a name is one LVM accepts for a new LV.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && !name.starts_with('-')
        && !matches!(name, "." | "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
        && !name.starts_with("snapshot")
        && !name.starts_with("pvmove")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_names() {
        assert_eq!(
            SnapshotSize::parse("20%"),
            Some(SnapshotSize::Percent(20.0))
        );
        assert_eq!(
            SnapshotSize::parse("8G"),
            Some(SnapshotSize::Fixed("8G".into()))
        );
        assert_eq!(SnapshotSize::parse("0%"), None);
        assert_eq!(SnapshotSize::parse("8Q"), None);
        assert_eq!(
            SnapshotSize::Percent(10.0).lvcreate_size(10 << 30),
            "1073741824b"
        );
        assert_eq!(
            SnapshotSize::Percent(1.0).lvcreate_size(1 << 20),
            format!("{}b", 64 << 20)
        );
        assert!(valid_name("pre-upgrade-2026-01-29"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("snapshot1"));
        assert!(!valid_name("-x"));
    }
}
