//! How new guests get their VMIDs (`vmid_pattern` in naming-conventions.yml):
//! by a pattern that carries the node, so an ID says where a guest was born
//! (the design's `{node_num}{seq:02d}`: pve-db-02 is 201 on node-02), or
//! Proxmox's own `/cluster/nextid` (`vmid_pattern: nextid`).

use std::collections::BTreeMap;

use super::naming::NodeEntry;
use super::reader::{Issues, MapView};

/// Proxmox's VMID bounds (`pve-vmid`: 100 to 999999999).
pub const VMID_MIN: u32 = 100;
pub const VMID_MAX: u32 = 999_999_999;

/// The default pattern: the node's number, then a two-digit sequence.
pub const DEFAULT_VMID_PATTERN: &str = "{node_num}{seq:02d}";

/// One piece of a VMID pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Digits(String),
    NodeNum { width: usize },
    Seq { width: usize },
}

/// A parsed `vmid_pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmidPattern {
    text: String,
    parts: Vec<Part>,
}

impl VmidPattern {
    /// Parse a pattern; it must hold `{seq}` (or `{seq:0Nd}`) once and may
    /// hold `{node_num}` and digits.
    pub fn parse(text: &str) -> Result<VmidPattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("'{text}': a '{{' is not closed"))?;
                let inner = &after[..end];
                let (name, fmt) = match inner.split_once(':') {
                    Some((n, f)) => (n, Some(f)),
                    None => (inner, None),
                };
                let width = match fmt {
                    None => 0,
                    Some(f) => f
                        .strip_prefix('0')
                        .and_then(|w| w.strip_suffix('d'))
                        .and_then(|w| w.parse::<usize>().ok())
                        .filter(|w| (1..=6).contains(w))
                        .ok_or_else(|| {
                            format!("'{inner}': write a width as {{{name}:02d}} (1 to 6 digits)")
                        })?,
                };
                parts.push(match name {
                    "node_num" => Part::NodeNum { width },
                    "seq" => Part::Seq { width },
                    other => {
                        return Err(format!(
                            "unknown placeholder {{{other}}} (use {{node_num}} and {{seq}}, or write nextid)"
                        ));
                    }
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let lit = &rest[..end];
                if !lit.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!(
                        "'{lit}' is not a number: a VMID holds only digits and placeholders"
                    ));
                }
                parts.push(Part::Digits(lit.to_string()));
                rest = &rest[end..];
            }
        }
        let seqs = parts
            .iter()
            .filter(|p| matches!(p, Part::Seq { .. }))
            .count();
        if seqs != 1 {
            return Err(format!("'{text}' must hold {{seq}} exactly once"));
        }
        Ok(VmidPattern {
            text: text.to_string(),
            parts,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The largest sequence number: as many digits as the width gives, else 99.
    fn seq_max(&self) -> u64 {
        let width = self.parts.iter().find_map(|p| match p {
            Part::Seq { width } => Some(*width),
            _ => None,
        });
        match width {
            Some(w) if w > 0 => 10u64.pow(w as u32) - 1,
            _ => 99,
        }
    }

    /// The VMID for a node number and sequence, if it is a number at all.
    pub fn render(&self, node_num: u32, seq: u64) -> Option<u64> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Digits(d) => out.push_str(d),
                Part::NodeNum { width } => out.push_str(&format!("{node_num:0width$}")),
                Part::Seq { width } => out.push_str(&format!("{seq:0width$}")),
            }
        }
        out.parse().ok()
    }

    /// Every VMID of a node's range, lowest first (sequence 1 up).
    pub fn ids(&self, node_num: u32) -> Vec<u32> {
        (1..=self.seq_max())
            .filter_map(|s| self.render(node_num, s))
            .filter_map(|v| u32::try_from(v).ok())
            .collect()
    }

    /// `201-299`, for messages.
    pub fn range_text(&self, node_num: u32) -> String {
        let ids = self.ids(node_num);
        match (ids.first(), ids.last()) {
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "(empty)".into(),
        }
    }
}

/// How new guests get their VMIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmidScheme {
    /// Proxmox's `/cluster/nextid`.
    NextId,
    /// A range per node.
    Pattern(VmidPattern),
}

impl Default for VmidScheme {
    fn default() -> Self {
        match VmidPattern::parse(DEFAULT_VMID_PATTERN) {
            Ok(p) => VmidScheme::Pattern(p),
            Err(_) => VmidScheme::NextId,
        }
    }
}

/// The VMID settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmidConfig {
    pub scheme: VmidScheme,
    /// `vmid_fallback: nextid`: when a node's range is full, take Proxmox's
    /// next free ID instead of refusing the plan.
    pub fallback_nextid: bool,
}

/// Read `vmid_pattern` and `vmid_fallback`, and check every node's range:
/// within Proxmox's bounds and not overlapping another node's.
pub fn read(map: &MapView<'_>, issues: &mut Issues, nodes: &[NodeEntry]) -> VmidConfig {
    let mut c = VmidConfig::default();
    if let Some(f) = map.opt_str(issues, "vmid_fallback") {
        match f.value.as_str() {
            "nextid" => c.fallback_nextid = true,
            "none" => c.fallback_nextid = false,
            other => issues.error(
                f.pos,
                &f.field,
                format!("'{other}' is not a fallback (nextid, or none)"),
            ),
        }
    }
    let Some(p) = map.opt_str(issues, "vmid_pattern") else {
        check_ranges(&c, issues, nodes, None);
        return c;
    };
    if p.value == "nextid" {
        c.scheme = VmidScheme::NextId;
        return c;
    }
    match VmidPattern::parse(&p.value) {
        Ok(pattern) => {
            c.scheme = VmidScheme::Pattern(pattern);
            check_ranges(&c, issues, nodes, Some((p.pos, p.field.as_str())));
        }
        Err(e) => issues.error(p.pos, &p.field, e),
    }
    c
}

fn check_ranges(
    c: &VmidConfig,
    issues: &mut Issues,
    nodes: &[NodeEntry],
    at: Option<(super::yaml::Pos, &str)>,
) {
    let VmidScheme::Pattern(p) = &c.scheme else {
        return;
    };
    let (pos, field) = at.unwrap_or((super::yaml::Pos::default(), "vmid_pattern"));
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    for n in nodes {
        let ids = p.ids(n.number);
        if ids.is_empty() {
            issues.error(pos, field, format!("gives {} no VMID at all", n.name));
            continue;
        }
        if let Some(bad) = ids.iter().find(|v| !(VMID_MIN..=VMID_MAX).contains(*v)) {
            issues.error(
                pos,
                field,
                format!(
                    "gives {} the VMID {bad}, outside Proxmox's {VMID_MIN}-{VMID_MAX}",
                    n.name
                ),
            );
            continue;
        }
        for v in ids {
            if let Some(other) = owner.insert(v, &n.name)
                && other != n.name
            {
                issues.error(
                    pos,
                    field,
                    format!(
                        "the ranges of {other} and {} overlap (both get {v}); give the nodes distinct numbers",
                        n.name
                    ),
                );
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_pattern_gives_each_node_its_hundred() {
        let p = VmidPattern::parse(DEFAULT_VMID_PATTERN).unwrap();
        assert_eq!(p.render(2, 1), Some(201));
        assert_eq!(p.render(3, 1), Some(301));
        assert_eq!(p.range_text(2), "201-299");
        assert_eq!(p.ids(12)[0], 1201);
        let q = VmidPattern::parse("9{node_num:02d}{seq:03d}").unwrap();
        assert_eq!(q.render(4, 7), Some(904_007));
        assert!(VmidPattern::parse("{node_num}").is_err());
        assert!(VmidPattern::parse("{seq}{seq}").is_err());
        assert!(VmidPattern::parse("x{seq}").is_err());
        assert!(VmidPattern::parse("{seq:2d}").is_err());
        assert!(VmidPattern::parse("{vmid}{seq}").is_err());
    }
}
