//! Which LVM snapshots retention removes: only those proxdeck made, never one
//! guarding an operation still running or failed, never one being merged;
//! older than `max_age_days`, or beyond `max_snapshots_per_volume` (oldest first).

use std::collections::HashSet;

/// A snapshot as the catalog knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub node: String,
    /// `VG/LV` of the origin.
    pub volume: String,
    pub name: String,
    pub created_at: i64,
    pub created_by_proxdeck: bool,
    /// The action it was taken for, if any.
    pub protects_action: Option<String>,
    pub state: String,
}

/// A snapshot retention removes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub node: String,
    pub volume: String,
    pub name: String,
    pub reason: String,
}

/// The snapshots to remove. `guarding` holds the actions whose safety
/// snapshots must stay (running, failed or rolled back).
pub fn expired(
    snaps: &[Known],
    now: i64,
    max_age_days: u32,
    max_per_volume: u32,
    guarding: &HashSet<String>,
) -> Vec<Expired> {
    let removable = |s: &Known| {
        s.created_by_proxdeck
            && s.state == "present"
            && !s
                .protects_action
                .as_ref()
                .is_some_and(|a| guarding.contains(a))
    };
    let mut out: Vec<Expired> = Vec::new();
    let limit = i64::from(max_age_days) * 86_400;
    for s in snaps.iter().filter(|s| removable(s)) {
        if now - s.created_at > limit {
            out.push(Expired {
                node: s.node.clone(),
                volume: s.volume.clone(),
                name: s.name.clone(),
                reason: format!("older than {max_age_days} days"),
            });
        }
    }
    // Per volume: the newest `max_per_volume` stay (counting every snapshot
    // of the volume, also those proxdeck did not make).
    let mut volumes: Vec<(&str, &str)> = snaps
        .iter()
        .map(|s| (s.node.as_str(), s.volume.as_str()))
        .collect();
    volumes.sort();
    volumes.dedup();
    for (node, volume) in volumes {
        let mut of: Vec<&Known> = snaps
            .iter()
            .filter(|s| s.node == node && s.volume == volume && s.state != "removed")
            .filter(|s| !out.iter().any(|e| e.node == s.node && e.name == s.name))
            .collect();
        of.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        for s in of.iter().skip(max_per_volume as usize) {
            if removable(s) {
                out.push(Expired {
                    node: s.node.clone(),
                    volume: s.volume.clone(),
                    name: s.name.clone(),
                    reason: format!("more than {max_per_volume} snapshots of {volume}"),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str, age_days: i64, ours: bool, protects: Option<&str>, state: &str) -> Known {
        Known {
            node: "pve-node-01".into(),
            volume: "pve/root".into(),
            name: name.into(),
            created_at: 100 * 86_400 - age_days * 86_400,
            created_by_proxdeck: ours,
            protects_action: protects.map(str::to_string),
            state: state.into(),
        }
    }

    #[test]
    fn age_count_ownership_and_guards() {
        let now = 100 * 86_400;
        let snaps = vec![
            k("old-ours", 40, true, None, "present"),
            k("old-theirs", 50, false, None, "present"),
            k("old-guarding", 45, true, Some("upgrade-1"), "present"),
            k("old-merging", 60, true, None, "merge_pending"),
            k("new1", 1, true, None, "present"),
            k("new2", 2, true, None, "present"),
            k("new3", 3, true, None, "present"),
        ];
        let guarding: HashSet<String> = ["upgrade-1".to_string()].into();
        let got: Vec<(String, String)> = expired(&snaps, now, 30, 10, &guarding)
            .into_iter()
            .map(|e| (e.name, e.reason))
            .collect();
        assert_eq!(
            got,
            vec![("old-ours".to_string(), "older than 30 days".to_string())]
        );
        // At most 2 per volume: the newest two stay; of the rest only ours, unguarded and not merging go.
        let got: Vec<String> = expired(&snaps, now, 365, 2, &guarding)
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(got, vec!["new3".to_string(), "old-ours".to_string()]);
    }
}
