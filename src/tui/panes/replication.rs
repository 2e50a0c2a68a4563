//! Replication: replication and clone actions with per-target progress
//! (from the task logs), the running step, elapsed time and ETA, and the
//! results table of the design (`target_node, new_resource_id,
//! new_resource_name, ip, mac, status`).

use super::{Ctx, Detail, status_role};
use crate::engine::journal::StepState;
use crate::engine::{Action, ActionOverview, ActionState};
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::World;

pub fn is_copy(a: &ActionOverview) -> bool {
    is_copy_action(&a.record.action)
}

pub fn is_copy_action(a: &Action) -> bool {
    matches!(a, Action::Replicate(_) | Action::CloneGuest(_))
}

/// Percent done of one target: live events first, then the stored figure.
pub fn target_percent(world: &World, a: &ActionOverview, node: &str) -> f64 {
    let stored = a
        .targets
        .iter()
        .find(|t| t.target_node == node)
        .map(|t| match t.status.as_str() {
            "success" => 100.0,
            _ => t.progress.unwrap_or(0.0),
        })
        .unwrap_or(0.0);
    match world.live.get(&(a.record.id.clone(), node.to_string())) {
        Some(l) if a.record.state == ActionState::Running => l.percent.max(stored),
        _ => stored,
    }
}

pub fn overall_percent(world: &World, a: &ActionOverview) -> f64 {
    if a.record.state == ActionState::Succeeded {
        return 100.0;
    }
    if a.targets.is_empty() {
        return 0.0;
    }
    a.targets
        .iter()
        .map(|t| target_percent(world, a, &t.target_node))
        .sum::<f64>()
        / a.targets.len() as f64
}

/// Seconds from the first step's start to the last step's end (or now).
pub fn elapsed(a: &ActionOverview, target: Option<&str>, now: i64) -> Option<i64> {
    let steps: Vec<_> = a
        .steps
        .iter()
        .filter(|s| target.is_none() || s.target.as_deref() == target)
        .collect();
    let start = steps.iter().filter_map(|s| s.started_at).min()?;
    let running = steps.iter().any(|s| s.state == StepState::Running)
        || (a.record.state == ActionState::Running
            && steps.iter().any(|s| s.state == StepState::Pending));
    let end = if running {
        now
    } else {
        steps
            .iter()
            .filter_map(|s| s.finished_at)
            .max()
            .unwrap_or(now)
    };
    Some((end - start).max(0))
}

/// The step running now (from events, else the journal).
pub fn current_step(world: &World, a: &ActionOverview) -> Option<String> {
    if a.record.state != ActionState::Running {
        return None;
    }
    world.current_step.get(&a.record.id).cloned().or_else(|| {
        a.steps
            .iter()
            .find(|s| s.state == StepState::Running)
            .map(|s| s.key.clone())
    })
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("ACTION", 30, 0).grow(),
        Column::new("STATE", 16, 0),
        Column::new("PROGRESS", 16, 0),
        Column::new("STEP", 20, 2),
        Column::new("ELAPSED", 7, 1).right(),
        Column::new("ETA", 6, 3).right(),
        Column::new("ID", 24, 4),
    ]
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let rows = world
        .actions
        .data
        .iter()
        .filter(|a| is_copy(a))
        .map(|a| {
            let pct = overall_percent(world, a);
            let el = elapsed(a, None, ctx.now);
            let eta = el.and_then(|e| fmt::eta(e, pct));
            let state = a.record.state.as_str();
            let step = current_step(world, a).unwrap_or_default();
            Row {
                key: a.record.id.clone(),
                depth: 0,
                cells: vec![
                    Cell::text(a.record.action.describe()),
                    Cell::new(state, status_role(state)),
                    Cell::new(
                        format!("{} {:>3.0}%", fmt::bar(pct / 100.0, 10), pct),
                        Role::Gauge,
                    ),
                    Cell::muted(step.clone()),
                    Cell::text(el.map(fmt::clock).unwrap_or_default()),
                    Cell::muted(eta.map(fmt::clock).unwrap_or_default()),
                    Cell::muted(a.record.id.clone()),
                ],
                sort: vec![
                    SortKey::Text(a.record.action.describe()),
                    SortKey::Text(state.to_string()),
                    SortKey::Num(pct),
                    SortKey::Text(step),
                    SortKey::Num(el.unwrap_or(0) as f64),
                    eta.map(|e| SortKey::Num(e as f64)).unwrap_or(SortKey::None),
                    SortKey::Num(-(a.record.created_at as f64)),
                ],
                search: format!("{} {} {}", a.record.id, a.record.action.describe(), state),
            }
        })
        .collect();
    Table {
        columns: columns(),
        rows,
        empty: "no replications yet: select a guest in Resources and press r".into(),
        total: 0,
    }
}

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    let a = world.action(key)?;
    let mut d = Detail::new(a.record.action.describe());
    d.field("id", a.record.id.clone(), Role::Muted);
    d.field(
        "state",
        a.record.state.as_str(),
        status_role(a.record.state.as_str()),
    );
    if let Some(e) = &a.record.error {
        d.field("error", e.clone(), Role::Error);
    }
    d.heading("targets");
    for t in &a.targets {
        let pct = target_percent(world, a, &t.target_node);
        let el = elapsed(a, Some(&t.target_node), ctx.now);
        let eta = el.and_then(|e| fmt::eta(e, pct));
        let step = a
            .steps
            .iter()
            .filter(|s| s.target.as_deref() == Some(&t.target_node))
            .find(|s| s.state == StepState::Running)
            .map(|s| s.key.split('@').next().unwrap_or("").to_string())
            .unwrap_or_default();
        d.line(vec![
            Cell::text(format!("{:<12}", t.target_node)),
            Cell::new(
                format!("{} {:>3.0}%", fmt::bar(pct / 100.0, 16), pct),
                Role::Gauge,
            ),
            Cell::new(
                format!("  {:<10}", t.status),
                status_role(t.status.as_str()),
            ),
            Cell::muted(format!(
                "{}{}{}",
                step,
                el.map(|e| format!("  {}", fmt::clock(e)))
                    .unwrap_or_default(),
                eta.map(|e| format!("  eta {}", fmt::clock(e)))
                    .unwrap_or_default()
            )),
        ]);
        if let Some(e) = &t.error {
            d.text(format!("  {e}"), Role::Error);
        }
    }
    d.heading("results");
    d.line(vec![Cell::muted(format!(
        "{:<12} {:<6} {:<14} {:<15} {:<17} {}",
        "target_node", "id", "name", "ip", "mac", "status"
    ))]);
    for t in &a.targets {
        d.line(vec![
            Cell::text(format!(
                "{:<12} {:<6} {:<14} {:<15} {:<17} ",
                t.target_node,
                t.new_resource_id,
                t.new_resource_name,
                t.ip.clone().unwrap_or_default(),
                t.mac.clone().unwrap_or_default()
            )),
            Cell::new(t.status.to_string(), status_role(t.status.as_str())),
        ]);
    }
    if !a.log_tail.is_empty() {
        d.heading("latest output");
        for l in a.log_tail.iter().rev().take(6).rev() {
            d.text(fmt::clip(l, 100), Role::Muted);
        }
    }
    Some(d)
}
