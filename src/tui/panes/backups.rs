//! Backups: the archive catalog across nodes and storages: guest, time,
//! size, mode, verification, copies, protection and what keeps it.

use std::collections::BTreeMap;

use super::{Ctx, Detail};
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::{BackupItem, World};

pub fn backup_key(file: &str) -> String {
    format!("backup:{file}")
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("GUEST", 18, 0).grow(),
        Column::new("TIME", 16, 1),
        Column::new("AGE", 4, 0).right(),
        Column::new("SIZE", 6, 2).right(),
        Column::new("FORMAT", 7, 5),
        Column::new("MODE", 8, 6),
        Column::new("VERIFIED", 10, 0),
        Column::new("COPIES", 16, 3),
        Column::new("KEPT BY", 11, 4),
    ]
}

/// Copies of one archive, grouped by file name.
pub fn grouped(world: &World) -> BTreeMap<String, Vec<&BackupItem>> {
    let mut out: BTreeMap<String, Vec<&BackupItem>> = BTreeMap::new();
    for b in &world.backups.data {
        out.entry(b.file().to_string()).or_default().push(b);
    }
    out
}

fn verification(copies: &[&BackupItem]) -> (String, Role) {
    let states: Vec<&str> = copies
        .iter()
        .filter_map(|b| b.verification.as_deref())
        .collect();
    if states.contains(&"failed") {
        ("✗ failed".into(), Role::Error)
    } else if states.contains(&"ok") {
        ("✓ ok".into(), Role::Ok)
    } else if let Some(v) = copies.iter().find_map(|b| b.content.verification.as_ref()) {
        // Proxmox Backup Server reports its own verification.
        match v.state.as_str() {
            "ok" => ("✓ ok (PBS)".into(), Role::Ok),
            s => (format!("✗ {s} (PBS)"), Role::Error),
        }
    } else {
        ("unverified".into(), Role::Warn)
    }
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let inv = world.inv();
    let mut rows = Vec::new();
    for (file, copies) in grouped(world) {
        let b = copies[0];
        let c = &b.content;
        let vmid = c.vmid.unwrap_or(0);
        let name = inv
            .guest(vmid)
            .map(|g| g.name.clone())
            .or_else(|| c.notes.clone().filter(|n| !n.contains('\n')))
            .unwrap_or_else(|| "?".into());
        let (ver, ver_role) = verification(&copies);
        let protected = copies.iter().any(|b| b.content.protected);
        let storages: Vec<String> = copies
            .iter()
            .map(|b| {
                if b.shared {
                    b.storage.clone()
                } else {
                    format!("{}/{}", b.node, b.storage)
                }
            })
            .collect();
        let kept = if protected {
            ("protected".to_string(), Role::Accent)
        } else {
            match copies.iter().find_map(|b| b.kept_by.clone()) {
                Some(k) => (k, Role::Text),
                None => ("-".to_string(), Role::Muted),
            }
        };
        let gone = inv.guest(vmid).is_none();
        rows.push(Row {
            key: backup_key(&file),
            depth: 0,
            cells: vec![
                Cell::new(
                    format!("{name} ({vmid})"),
                    if gone { Role::Muted } else { Role::Text },
                ),
                Cell::text(
                    c.ctime
                        .map(|t| ctx.time(t, "%Y-%m-%d %H:%M"))
                        .unwrap_or_default(),
                ),
                Cell::text(c.ctime.map(|t| fmt::age(ctx.now - t)).unwrap_or_default()),
                Cell::text(c.size.map(fmt::bytes).unwrap_or_default()),
                Cell::muted(c.format.clone()),
                Cell::muted(b.mode.clone().unwrap_or_else(|| "-".into())),
                Cell::new(ver.clone(), ver_role),
                Cell::new(
                    format!("{} {}", copies.len(), storages.join(",")),
                    if copies.len() > 1 {
                        Role::Ok
                    } else {
                        Role::Text
                    },
                ),
                Cell::new(kept.0.clone(), kept.1),
            ],
            sort: vec![
                SortKey::Text(name.clone()),
                SortKey::Num(-(c.ctime.unwrap_or(0) as f64)),
                SortKey::Num(-(c.ctime.unwrap_or(0) as f64)),
                SortKey::Num(c.size.unwrap_or(0) as f64),
                SortKey::Text(c.format.clone()),
                SortKey::Text(b.mode.clone().unwrap_or_default()),
                SortKey::Text(ver.clone()),
                SortKey::Num(copies.len() as f64),
                SortKey::Text(kept.0.clone()),
            ],
            search: format!(
                "{name} {vmid} {file} {} {ver} {}",
                storages.join(" "),
                c.notes.clone().unwrap_or_default()
            ),
        });
    }
    let empty = world.backups.empty_text(
        "cannot list backups",
        "reading backup storages…",
        "no backups on any storage",
    );
    if world.backups.at.is_none() {
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
    let file = key.strip_prefix("backup:")?;
    let groups = grouped(world);
    let copies = groups.get(file)?;
    let c = &copies[0].content;
    let mut d = Detail::new(file.to_string());
    let vmid = c.vmid.unwrap_or(0);
    match world.inv().guest(vmid) {
        Some(g) => d.field(
            "guest",
            format!("{} ({} {vmid} on {})", g.name, g.kind.noun(), g.node),
            Role::Text,
        ),
        None => d.field(
            "guest",
            format!("{vmid} (no longer in the cluster)"),
            Role::Warn,
        ),
    }
    if let Some(t) = c.ctime {
        d.field(
            "taken",
            format!(
                "{} ({} ago)",
                ctx.time(t, "%Y-%m-%d %H:%M:%S"),
                fmt::age(ctx.now - t)
            ),
            Role::Text,
        );
    }
    if let Some(s) = c.size {
        d.field("size", format!("{} ({s} bytes)", fmt::bytes(s)), Role::Text);
    }
    d.field(
        "format",
        format!(
            "{}{}",
            c.format,
            c.subtype
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
        Role::Text,
    );
    if let Some(m) = &copies[0].mode {
        d.field("mode", m.clone(), Role::Text);
    }
    if let Some(e) = &c.encrypted {
        d.field("encrypted", e.clone(), Role::Text);
    }
    if let Some(n) = &c.notes {
        d.field("notes", n.clone(), Role::Text);
    }
    let (ver, role) = verification(copies);
    d.field("verified", ver, role);
    for b in copies.iter().filter_map(|b| b.verification_error.as_ref()) {
        d.text(format!("  {b}"), Role::Error);
    }
    d.field(
        "protected",
        if copies.iter().any(|b| b.content.protected) {
            "yes (never pruned)"
        } else {
            "no"
        },
        Role::Text,
    );
    d.heading("copies");
    for b in copies {
        d.line(vec![
            Cell::muted(format!(
                "{:<11} ",
                if b.shared { "shared" } else { b.node.as_str() }
            )),
            Cell::text(b.content.volid.clone()),
        ]);
    }
    Some(d)
}
