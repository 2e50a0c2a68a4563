//! Tasks: recent Proxmox tasks across the cluster and proxdeck's own actions
//! in one list; Enter opens a live log.

use super::{Ctx, Detail, status_role};
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::World;

pub fn task_key(upid: &str) -> String {
    format!("task:{upid}")
}

pub fn action_key(id: &str) -> String {
    format!("action:{id}")
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("START", 14, 0),
        Column::new("NODE", 11, 2),
        Column::new("TYPE", 12, 0),
        Column::new("ON", 18, 1).grow(),
        Column::new("USER", 16, 3),
        Column::new("STATUS", 14, 0),
        Column::new("TIME", 7, 1).right(),
    ]
}

/// A task's status text: running, OK, or Proxmox's error text.
fn task_status(status: Option<&str>) -> (String, Role) {
    match status {
        None => ("running".into(), Role::Accent),
        Some("OK") => ("OK".into(), Role::Ok),
        Some(s) if s.starts_with("WARNINGS") => (s.to_string(), Role::Warn),
        Some(s) => (s.to_string(), Role::Error),
    }
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let inv = world.inv();
    let mut rows: Vec<Row> = world
        .tasks
        .data
        .iter()
        .map(|t| {
            let (status, role) = task_status(t.status.as_deref());
            let guest =
                t.id.parse::<u32>()
                    .ok()
                    .and_then(|v| inv.guest(v))
                    .map(|g| format!("{} ({})", g.name, g.vmid))
                    .unwrap_or_else(|| t.id.clone());
            let start = t.starttime.unwrap_or(0);
            let dur = t.endtime.unwrap_or(ctx.now) - start;
            Row {
                key: task_key(&t.upid),
                depth: 0,
                cells: vec![
                    Cell::text(ctx.time(start, "%m-%d %H:%M:%S")),
                    Cell::muted(t.node.clone()),
                    Cell::text(t.task_type.clone()),
                    Cell::text(guest.clone()),
                    Cell::muted(t.user.clone()),
                    Cell::new(fmt::clip(&status, 40), role),
                    Cell::muted(fmt::clock(dur)),
                ],
                sort: vec![
                    SortKey::Num(-(start as f64)),
                    SortKey::Text(t.node.clone()),
                    SortKey::Text(t.task_type.clone()),
                    SortKey::Text(guest.clone()),
                    SortKey::Text(t.user.clone()),
                    SortKey::Text(status.clone()),
                    SortKey::Num(dur as f64),
                ],
                search: format!(
                    "{} {} {} {} {} {status}",
                    t.node, t.task_type, guest, t.user, t.upid
                ),
            }
        })
        .collect();
    rows.extend(world.actions.data.iter().map(|a| {
        let r = &a.record;
        let start = r.created_at;
        let end = if r.state.is_terminal() {
            r.updated_at
        } else {
            ctx.now
        };
        let state = r.state.as_str();
        Row {
            key: action_key(&r.id),
            depth: 0,
            cells: vec![
                Cell::text(ctx.time(start, "%m-%d %H:%M:%S")),
                Cell::muted(r.action.node().to_string()),
                Cell::new(format!("proxdeck:{}", r.kind), Role::Accent),
                Cell::text(r.action.describe()),
                Cell::muted(r.proposed_by.label()),
                Cell::new(state, status_role(state)),
                Cell::muted(fmt::clock(end - start)),
            ],
            sort: vec![
                SortKey::Num(-(start as f64)),
                SortKey::Text(r.action.node().to_string()),
                SortKey::Text(r.kind.clone()),
                SortKey::Text(r.action.describe()),
                SortKey::Text(r.proposed_by.label()),
                SortKey::Text(state.into()),
                SortKey::Num((end - start) as f64),
            ],
            search: format!(
                "proxdeck {} {} {} {state}",
                r.id,
                r.kind,
                r.action.describe()
            ),
        }
    }));
    let empty = world
        .tasks
        .empty_text("cannot list tasks", "reading tasks…", "no recent tasks");
    Table {
        columns: columns(),
        rows,
        empty,
        total: 0,
    }
}

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    if let Some(id) = key.strip_prefix("action:") {
        let a = world.action(id)?;
        let mut d = super::approvals::plan_detail(&a.record, ctx.now);
        d.heading("journal");
        for s in &a.steps {
            d.line(vec![
                Cell::muted(format!("{:>3}. ", s.seq)),
                Cell::text(format!("{:<24} ", s.key)),
                Cell::new(s.state.as_str(), status_role(s.state.as_str())),
                Cell::muted(
                    s.error
                        .as_ref()
                        .map(|e| format!("  {e}"))
                        .unwrap_or_default(),
                ),
            ]);
        }
        d.blank();
        d.text("enter opens the action's log", Role::Muted);
        return Some(d);
    }
    let upid = key.strip_prefix("task:")?;
    let t = world.tasks.data.iter().find(|t| t.upid == upid)?;
    let mut d = Detail::new(format!("{} {}", t.task_type, t.id));
    d.field("node", t.node.clone(), Role::Text);
    d.field("user", t.user.clone(), Role::Text);
    if let Some(s) = t.starttime {
        d.field("started", ctx.time(s, "%Y-%m-%d %H:%M:%S"), Role::Text);
    }
    if let Some(e) = t.endtime {
        d.field("ended", ctx.time(e, "%Y-%m-%d %H:%M:%S"), Role::Text);
    }
    let (status, role) = task_status(t.status.as_deref());
    d.field("status", status, role);
    d.field("upid", t.upid.clone(), Role::Muted);
    d.blank();
    d.text("enter opens the task log", Role::Muted);
    Some(d)
}
