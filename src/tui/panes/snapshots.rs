//! Snapshots: every guest's snapshot tree (by parent, with "now" where the
//! guest runs from) and LVM host snapshots per node, with age, purpose,
//! retention expiry and usage.

use std::collections::BTreeMap;

use super::{Ctx, Detail, load_role};
use crate::pve::types::SnapshotInfo;
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::{LvmSnapshot, SnapshotNote, World};

pub fn snap_key(vmid: u32, name: &str) -> String {
    format!("snap:{vmid}:{name}")
}

/// (vmid, snapshot name) of a snapshot row's key.
pub fn parse_snap_key(key: &str) -> Option<(u32, &str)> {
    let rest = key.strip_prefix("snap:")?;
    let (vmid, name) = rest.split_once(':')?;
    Some((vmid.parse().ok()?, name))
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("NAME", 26, 0).grow(),
        Column::new("AGE", 5, 0).right(),
        Column::new("PURPOSE", 9, 2),
        Column::new("EXPIRES", 8, 1),
        Column::new("RAM", 3, 4),
        Column::new("USE", 10, 3),
        Column::new("DESCRIPTION", 24, 5).grow(),
    ]
}

fn expiry(note: Option<&SnapshotNote>, created: Option<i64>, ctx: &Ctx<'_>) -> (String, Role) {
    match note {
        Some(n) if n.created_by_proxdeck => {
            let at = n.expires_at.or_else(|| {
                created.map(|c| {
                    c + i64::from(ctx.config.policies.snapshot_retention.max_age_days) * 86_400
                })
            });
            match at {
                Some(t) if t <= ctx.now => ("due".into(), Role::Warn),
                Some(t) => (format!("in {}", fmt::age(t - ctx.now)), Role::Text),
                None => ("-".into(), Role::Muted),
            }
        }
        // Retention only removes what proxdeck made.
        _ => ("kept".into(), Role::Muted),
    }
}

fn guest_rows(world: &World, vmid: u32, list: &[SnapshotInfo], ctx: &Ctx<'_>, rows: &mut Vec<Row>) {
    let inv = world.inv();
    let (name, node) = inv
        .guest(vmid)
        .map(|g| (g.name.clone(), g.node.clone()))
        .unwrap_or_else(|| (format!("vmid {vmid}"), String::new()));
    let real = list.iter().filter(|s| s.name != "current").count();
    rows.push(Row {
        key: format!("guest:{vmid}"),
        depth: 0,
        cells: vec![
            Cell::new(format!("{name} ({vmid})"), Role::Accent),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(format!(
                "{real} snapshot{} · {node}",
                if real == 1 { "" } else { "s" }
            )),
        ],
        sort: vec![
            SortKey::Text(name.clone()),
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
        ],
        search: format!("{name} {vmid} {node}"),
    });
    // Children by parent; roots are those without a parent (or whose parent is gone).
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    let mut children: BTreeMap<Option<&str>, Vec<&SnapshotInfo>> = BTreeMap::new();
    for s in list {
        let parent = s.parent.as_deref().filter(|p| names.contains(p));
        children.entry(parent).or_default().push(s);
    }
    for v in children.values_mut() {
        v.sort_by_key(|s| (s.name == "current", s.snaptime.unwrap_or(i64::MAX)));
    }
    fn walk(
        parent: Option<&str>,
        depth: u8,
        children: &BTreeMap<Option<&str>, Vec<&SnapshotInfo>>,
        out: &mut Vec<(u8, SnapshotInfo)>,
    ) {
        if let Some(list) = children.get(&parent) {
            for s in list {
                out.push((depth, (*s).clone()));
                if s.name != "current" && depth < 30 {
                    walk(Some(s.name.as_str()), depth + 1, children, out);
                }
            }
        }
    }
    let mut ordered = Vec::new();
    walk(None, 1, &children, &mut ordered);
    for (depth, s) in ordered {
        let indent = "  ".repeat(usize::from(depth));
        if s.name == "current" {
            rows.push(Row {
                key: snap_key(vmid, "current"),
                depth,
                cells: vec![
                    Cell::new(format!("{indent}● NOW"), Role::Ok),
                    Cell::muted(""),
                    Cell::muted(""),
                    Cell::muted(""),
                    Cell::muted(""),
                    Cell::muted(""),
                    Cell::muted("the running state"),
                ],
                sort: vec![SortKey::None; 7],
                search: format!("{name} {vmid} current"),
            });
            continue;
        }
        let note = world.snapshots.data.notes.get(&(vmid, s.name.clone()));
        let (exp, exp_role) = expiry(note, s.snaptime, ctx);
        let purpose = note
            .and_then(|n| n.purpose.clone())
            .unwrap_or_else(|| "-".into());
        rows.push(Row {
            key: snap_key(vmid, &s.name),
            depth,
            cells: vec![
                Cell::text(format!("{indent}◇ {}", s.name)),
                Cell::text(
                    s.snaptime
                        .map(|t| fmt::age(ctx.now - t))
                        .unwrap_or_default(),
                ),
                Cell::new(
                    purpose.clone(),
                    if purpose == "safety" {
                        Role::Warn
                    } else {
                        Role::Text
                    },
                ),
                Cell::new(exp, exp_role),
                Cell::muted(if s.vmstate == Some(true) { "yes" } else { "" }),
                Cell::muted(""),
                Cell::muted(fmt::clip(s.description.lines().next().unwrap_or(""), 60)),
            ],
            sort: vec![
                SortKey::Text(s.name.clone()),
                SortKey::Num(-(s.snaptime.unwrap_or(0) as f64)),
                SortKey::Text(purpose.clone()),
                SortKey::None,
                SortKey::None,
                SortKey::None,
                SortKey::Text(s.description.clone()),
            ],
            search: format!("{name} {vmid} {} {} {purpose}", s.name, s.description),
        });
    }
}

fn lvm_rows(world: &World, ctx: &Ctx<'_>, rows: &mut Vec<Row>) {
    let lvm = &world.snapshots.data.lvm;
    let mut nodes: Vec<&str> = lvm.iter().map(|s| s.node.as_str()).collect();
    nodes.dedup();
    rows.push(Row {
        key: "lvm".into(),
        depth: 0,
        cells: vec![
            Cell::new("LVM host snapshots", Role::Accent),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(""),
            Cell::muted(if lvm.is_empty() {
                if world.host_access {
                    "none recorded".to_string()
                } else {
                    "none recorded · SSH host access not configured".to_string()
                }
            } else {
                format!("{} on {} node(s)", lvm.len(), nodes.len())
            }),
        ],
        sort: vec![
            SortKey::Text("~lvm".into()),
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
            SortKey::None,
        ],
        search: "lvm host".into(),
    });
    for s in lvm {
        rows.push(lvm_row(s, ctx));
    }
}

fn lvm_row(s: &LvmSnapshot, ctx: &Ctx<'_>) -> Row {
    let use_ = s.usage_percent.map(|p| p / 100.0);
    // Nearly full at the policy's threshold; invalid once it overflowed.
    let warn_at = ctx.config.policies.ops.lvm.usage_warning_percent;
    let use_role = |p: f64| {
        if p >= 100.0 {
            Role::Error
        } else if p >= warn_at {
            Role::Warn
        } else {
            Role::Gauge
        }
    };
    let (exp, exp_role) = match s.expires_at {
        Some(t) if t <= ctx.now => ("due".to_string(), Role::Warn),
        Some(t) => (format!("in {}", fmt::age(t - ctx.now)), Role::Text),
        None => ("-".to_string(), Role::Muted),
    };
    let state_role = match s.state.as_str() {
        "present" => Role::Text,
        "invalid" => Role::Error,
        _ => Role::Warn,
    };
    Row {
        key: format!("lvm:{}:{}/{}", s.node, s.volume, s.name),
        depth: 1,
        cells: vec![
            Cell::text(format!("  ◇ {}", s.name)),
            Cell::text(
                s.created_at
                    .map(|t| fmt::age(ctx.now - t))
                    .unwrap_or_default(),
            ),
            Cell::new(
                match s.state.as_str() {
                    "present" => "-".to_string(),
                    "merge_pending" => "at reboot".to_string(),
                    other => other.to_string(),
                },
                state_role,
            ),
            Cell::new(exp, exp_role),
            Cell::muted(""),
            Cell::new(
                use_.map(|f| format!("{} {:>3.0}%", fmt::bar(f, 5), f * 100.0))
                    .unwrap_or_default(),
                s.usage_percent.map(use_role).unwrap_or(Role::Muted),
            ),
            Cell::muted(format!(
                "{} {}{}",
                s.node,
                s.volume,
                s.description
                    .as_ref()
                    .map(|d| format!(" · {d}"))
                    .unwrap_or_default()
            )),
        ],
        sort: vec![
            SortKey::Text(s.name.clone()),
            SortKey::Num(-(s.created_at.unwrap_or(0) as f64)),
            SortKey::Text(s.state.clone()),
            SortKey::None,
            SortKey::None,
            s.usage_percent.map(SortKey::Num).unwrap_or(SortKey::None),
            SortKey::None,
        ],
        search: format!("lvm {} {} {} {}", s.node, s.volume, s.name, s.state),
    }
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let mut rows = Vec::new();
    for (vmid, list) in &world.snapshots.data.guests {
        if list.iter().any(|s| s.name != "current") {
            guest_rows(world, *vmid, list, ctx, &mut rows);
        }
    }
    lvm_rows(world, ctx, &mut rows);
    let empty = world.snapshots.empty_text(
        "cannot list snapshots",
        "reading snapshots…",
        "no snapshots",
    );
    if world.snapshots.at.is_none() {
        rows.clear();
    }
    Table {
        columns: columns(),
        rows,
        empty,
        total: 0,
    }
}

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    if key == "lvm" {
        let mut d = Detail::new("LVM host snapshots");
        d.text(
            "Snapshots of node volumes (e.g. pve/root) taken before host upgrades.",
            Role::Text,
        );
        let r = &ctx.config.policies.snapshot_retention;
        d.field(
            "retention",
            format!(
                "{} days, at most {} per volume; only those proxdeck made",
                r.max_age_days, r.max_snapshots_per_volume
            ),
            Role::Text,
        );
        if !world.host_access {
            d.text("No SSH access is configured for this cluster (ssh: in proxdeck.yml), so host snapshots cannot be listed.", Role::Warn);
        }
        return Some(d);
    }
    if let Some(rest) = key.strip_prefix("lvm:") {
        let s = world
            .snapshots
            .data
            .lvm
            .iter()
            .find(|s| format!("{}:{}/{}", s.node, s.volume, s.name) == rest)?;
        let mut d = Detail::new(format!("LVM snapshot {}/{}", s.volume, s.name));
        d.field("node", s.node.clone(), Role::Text);
        d.field(
            "state",
            match s.state.as_str() {
                "merge_pending" => crate::lvm::MERGE_PENDING.to_string(),
                "invalid" => "invalid: it overflowed, its data is lost".to_string(),
                other => other.to_string(),
            },
            if s.state == "present" {
                Role::Text
            } else {
                Role::Warn
            },
        );
        if let Some(p) = s.usage_percent {
            d.field(
                "usage",
                format!(
                    "{p:.1}% of {}",
                    s.size_bytes.map(fmt::bytes).unwrap_or_default()
                ),
                load_role(p / 100.0),
            );
        }
        if let Some(t) = s.created_at {
            d.field(
                "created",
                format!(
                    "{} ({} ago)",
                    ctx.time(t, "%Y-%m-%d %H:%M"),
                    fmt::age(ctx.now - t)
                ),
                Role::Text,
            );
        }
        if let Some(desc) = &s.description {
            d.field("why", desc.clone(), Role::Text);
        }
        return Some(d);
    }
    if let Some(vmid) = key
        .strip_prefix("guest:")
        .and_then(|v| v.parse::<u32>().ok())
    {
        let g = world.inv().guest(vmid);
        let mut d = Detail::new(format!(
            "snapshots of {}",
            g.map(|g| g.name.as_str()).unwrap_or("?")
        ));
        if let Some(e) = world.snapshots.data.failed.get(&vmid) {
            d.text(format!("listing failed: {e}"), Role::Error);
        }
        let n = world
            .snapshots
            .data
            .guests
            .get(&vmid)
            .map(|l| l.len().saturating_sub(1))
            .unwrap_or(0);
        d.field("count", n.to_string(), Role::Text);
        d.text(
            "s snapshot now · select a snapshot and press r to roll back",
            Role::Muted,
        );
        return Some(d);
    }
    let (vmid, name) = parse_snap_key(key)?;
    let list = world.snapshots.data.guests.get(&vmid)?;
    let s = list.iter().find(|s| s.name == name)?;
    let guest = world.inv().guest(vmid);
    let mut d = Detail::new(format!(
        "{} of {}",
        if name == "current" {
            "running state"
        } else {
            name
        },
        guest.map(|g| g.name.as_str()).unwrap_or("?")
    ));
    if name == "current" {
        d.field(
            "parent",
            s.parent.clone().unwrap_or_else(|| "-".into()),
            Role::Text,
        );
        d.text(
            "The guest runs from here; rolling back discards what changed since the parent.",
            Role::Muted,
        );
        return Some(d);
    }
    if let Some(t) = s.snaptime {
        d.field(
            "taken",
            format!(
                "{} ({} ago)",
                ctx.time(t, "%Y-%m-%d %H:%M"),
                fmt::age(ctx.now - t)
            ),
            Role::Text,
        );
    }
    d.field(
        "parent",
        s.parent.clone().unwrap_or_else(|| "-".into()),
        Role::Text,
    );
    d.field(
        "with RAM",
        if s.vmstate == Some(true) { "yes" } else { "no" },
        Role::Text,
    );
    if !s.description.is_empty() {
        d.field("description", s.description.clone(), Role::Text);
    }
    let note = world.snapshots.data.notes.get(&(vmid, name.to_string()));
    match note {
        Some(n) if n.created_by_proxdeck => {
            d.field(
                "made by",
                format!(
                    "proxdeck ({})",
                    n.purpose.clone().unwrap_or_else(|| "manual".into())
                ),
                Role::Text,
            );
            if let Some(a) = &n.protects_action {
                // A safety snapshot guards the action it was taken for.
                if n.purpose.as_deref() == Some("safety") {
                    d.field("protects", a.clone(), Role::Warn);
                } else {
                    d.field("action", a.clone(), Role::Muted);
                }
            }
            let (exp, role) = expiry(note, s.snaptime, ctx);
            d.field("expires", exp, role);
        }
        _ => d.field(
            "retention",
            "kept: retention only removes snapshots proxdeck made",
            Role::Muted,
        ),
    }
    let is_current_parent = list
        .iter()
        .any(|c| c.name == "current" && c.parent.as_deref() == Some(name));
    d.blank();
    d.text(
        if is_current_parent {
            "r rolls back to this snapshot (discarding changes since it was taken)"
        } else {
            "r rolls back to this snapshot (later snapshots stay; the running state is discarded)"
        },
        Role::Muted,
    );
    Some(d)
}
