//! `lvs --reportformat json` parsed: names, sizes, origins, usage, and the
//! states the attribute string encodes (snapshot, merging, invalid, open).

use serde::Deserialize;

/// What an LV is, from the first attribute character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LvKind {
    /// `s`: a snapshot.
    Snapshot,
    /// `S`: a snapshot being merged into its origin (or waiting to be).
    MergingSnapshot,
    /// `o`: the origin of a snapshot.
    Origin,
    /// `O`: an origin with a merging snapshot.
    MergingOrigin,
    /// `t`: a thin pool (`T`/`e`: its hidden data and metadata volumes).
    ThinPool,
    /// `V` with an origin: a thin snapshot proxdeck can make and merge
    /// (Proxmox's own guest snapshots on LVM-thin, `snap_…`, are `Other`).
    ThinSnapshot,
    Other,
}

/// One logical volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Lv {
    /// Without the brackets LVM puts around hidden LVs (`[snap2]`).
    pub name: String,
    pub vg: String,
    pub attr: String,
    pub size_bytes: Option<u64>,
    pub origin: Option<String>,
    /// Usage of a snapshot's copy-on-write space, in percent.
    pub snap_percent: Option<f64>,
    /// Creation time (unix).
    pub created: Option<i64>,
}

impl Lv {
    pub fn kind(&self) -> LvKind {
        match self.attr.chars().next() {
            Some('s') => LvKind::Snapshot,
            Some('S') => LvKind::MergingSnapshot,
            Some('o') => LvKind::Origin,
            Some('O') => LvKind::MergingOrigin,
            Some('t' | 'T') => LvKind::ThinPool,
            Some('e') if self.attr.chars().nth(6) == Some('t') => LvKind::ThinPool,
            Some('V') if self.origin.is_some() && !self.name.starts_with("snap_") => {
                LvKind::ThinSnapshot
            }
            _ => LvKind::Other,
        }
    }

    pub fn is_snapshot(&self) -> bool {
        matches!(
            self.kind(),
            LvKind::Snapshot | LvKind::MergingSnapshot | LvKind::ThinSnapshot
        )
    }

    /// A thin volume (target type `t`, not the pool): its snapshots are
    /// thin, made without a size (with one, LVM makes a thick copy-on-write
    /// snapshot that takes the volume group's free space instead).
    pub fn is_thin_volume(&self) -> bool {
        self.attr.chars().nth(6) == Some('t') && self.kind() != LvKind::ThinPool
    }

    /// A snapshot whose data is gone: overflowed (`I`, `S` when suspended)
    /// or one whose merge failed (`m`, `M`).
    pub fn is_invalid(&self) -> bool {
        matches!(self.attr.chars().nth(4), Some('I' | 'S' | 'm' | 'M'))
    }

    /// In use (mounted or held open): merges wait for the next activation.
    pub fn is_open(&self) -> bool {
        self.attr.chars().nth(5) == Some('o')
    }

    /// `VG/LV`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.vg, self.name)
    }

    /// The catalog's state word for a snapshot.
    pub fn state(&self) -> &'static str {
        if matches!(self.attr.chars().nth(4), Some('m' | 'M')) {
            "merge_failed"
        } else if self.is_invalid() {
            "invalid"
        } else if self.kind() == LvKind::MergingSnapshot {
            "merge_pending"
        } else {
            "present"
        }
    }
}

#[derive(Deserialize)]
struct Report {
    report: Vec<Section>,
}

#[derive(Deserialize)]
struct Section {
    #[serde(default)]
    lv: Vec<RawLv>,
}

#[derive(Deserialize)]
struct RawLv {
    lv_name: String,
    vg_name: String,
    lv_attr: String,
    #[serde(default)]
    lv_size: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    snap_percent: String,
    #[serde(default)]
    lv_time: String,
}

/// A size as `lvs` prints it: bytes (`--units b --nosuffix`) or human
/// (`400.00m`, `1.50g`; LVM's units are powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().trim_start_matches('<');
    if s.is_empty() {
        return None;
    }
    let (num, mult) = match s.chars().last()? {
        c if c.is_ascii_digit() => (s, 1u64),
        c => {
            let m = match c.to_ascii_lowercase() {
                'b' => 1,
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                'p' => 1 << 50,
                _ => return None,
            };
            (&s[..s.len() - 1], m)
        }
    };
    let v: f64 = num.parse().ok()?;
    Some((v * mult as f64).round() as u64)
}

fn parse_time(s: &str) -> Option<i64> {
    // "2026-11-25 20:49:14 +0000"
    let ts: jiff::Timestamp = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S %z", s.trim())
        .ok()?
        .to_timestamp()
        .ok()?;
    Some(ts.as_second())
}

/// Parse `lvs --reportformat json` output.
pub fn parse_lvs(json: &str) -> Result<Vec<Lv>, String> {
    let r: Report =
        serde_json::from_str(json).map_err(|e| format!("unexpected lvs output: {e}"))?;
    Ok(r.report
        .into_iter()
        .flat_map(|s| s.lv)
        .map(|l| Lv {
            name: l
                .lv_name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            vg: l.vg_name,
            attr: l.lv_attr,
            size_bytes: parse_size(&l.lv_size),
            origin: Some(l.origin).filter(|o| !o.is_empty()),
            snap_percent: l.snap_percent.trim().parse().ok(),
            created: parse_time(&l.lv_time),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("400.00m"), Some(400 << 20));
        assert_eq!(parse_size("1.50g"), Some(1_610_612_736));
        assert_eq!(parse_size("419430400"), Some(419_430_400));
        assert_eq!(parse_size("<4.00g"), Some(4 << 30));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("12x"), None);
    }

    /// A thin pool, a thin volume with a thin and a thick snapshot, as LVM
    /// 2.03 lists them (recorded in the test guest).
    #[test]
    fn thin_volumes_and_their_snapshots() {
        let json = r#"{"report":[{"lv":[
          {"lv_name":"data", "vg_name":"pve", "lv_attr":"twi-aotz--", "lv_size":"200.00m", "origin":"", "snap_percent":"0.00", "lv_time":"2026-12-04 16:14:21 +0000"},
          {"lv_name":"[data_tdata]", "vg_name":"pve", "lv_attr":"Twi-ao----", "lv_size":"200.00m", "origin":"", "snap_percent":"", "lv_time":"2026-12-04 16:14:21 +0000"},
          {"lv_name":"[data_tmeta]", "vg_name":"pve", "lv_attr":"ewi-ao----", "lv_size":"4.00m", "origin":"", "snap_percent":"", "lv_time":"2026-12-04 16:14:21 +0000"},
          {"lv_name":"thick", "vg_name":"pve", "lv_attr":"swi-a-s---", "lv_size":"20.00m", "origin":"vm-100-disk-0", "snap_percent":"0.00", "lv_time":"2026-12-04 16:14:31 +0000"},
          {"lv_name":"thinsnap", "vg_name":"pve", "lv_attr":"Vwi---tz-k", "lv_size":"100.00m", "origin":"vm-100-disk-0", "snap_percent":"", "lv_time":"2026-12-04 16:14:30 +0000"},
          {"lv_name":"snap_vm-100-disk-0_before", "vg_name":"pve", "lv_attr":"Vri---tz-k", "lv_size":"100.00m", "origin":"vm-100-disk-0", "snap_percent":"", "lv_time":"2026-12-04 16:14:30 +0000"},
          {"lv_name":"vm-100-disk-0", "vg_name":"pve", "lv_attr":"owi-a-tz--", "lv_size":"100.00m", "origin":"", "snap_percent":"0.00", "lv_time":"2026-12-04 16:14:26 +0000"}
        ]}]}"#;
        let l = parse_lvs(json).unwrap();
        let by = |n: &str| l.iter().find(|x| x.name == n).unwrap();
        assert_eq!(by("data").kind(), LvKind::ThinPool);
        assert_eq!(by("data_tdata").kind(), LvKind::ThinPool);
        assert!(!by("data").is_thin_volume());
        assert!(by("vm-100-disk-0").is_thin_volume());
        assert_eq!(by("thinsnap").kind(), LvKind::ThinSnapshot);
        assert!(by("thinsnap").is_snapshot());
        assert_eq!(by("thick").kind(), LvKind::Snapshot);
        // Proxmox's own guest snapshots stay out of proxdeck's hands.
        assert!(!by("snap_vm-100-disk-0_before").is_snapshot());
        let failed = Lv {
            attr: "Swi-m-s---".into(),
            ..by("thick").clone()
        };
        assert!(failed.is_invalid());
        assert_eq!(failed.state(), "merge_failed");
    }
}
