//! Approvals: plans waiting for a decision, with everything that will
//! happen: steps, names, VMIDs, addresses, MACs, storage, the safety
//! snapshot, the rule that asks for approval, who proposed it and why.

use super::{Ctx, Detail, status_role};
use crate::engine::{ActionOverview, ActionState};
use crate::tui::fmt;
use crate::tui::table::{Cell, Column, Row, SortKey, Table};
use crate::tui::theme::Role;
use crate::tui::world::World;

fn columns() -> Vec<Column> {
    vec![
        Column::new("ACTION", 30, 0).grow(),
        Column::new("RULE", 20, 1),
        Column::new("PROPOSED BY", 16, 2),
        Column::new("AGE", 4, 0).right(),
        Column::new("ID", 24, 3),
    ]
}

pub fn table(world: &World, ctx: &Ctx<'_>) -> Table {
    let rows = world
        .actions
        .data
        .iter()
        .filter(|a| a.record.state == ActionState::PendingApproval)
        .map(|a| Row {
            key: a.record.id.clone(),
            depth: 0,
            cells: vec![
                Cell::text(a.record.action.describe()),
                Cell::new(a.record.policy_rule.clone().unwrap_or_default(), Role::Warn),
                Cell::text(a.record.proposed_by.label()),
                Cell::text(fmt::age(ctx.now - a.record.created_at)),
                Cell::muted(a.record.id.clone()),
            ],
            sort: vec![
                SortKey::Text(a.record.action.describe()),
                SortKey::Text(a.record.policy_rule.clone().unwrap_or_default()),
                SortKey::Text(a.record.proposed_by.label()),
                SortKey::Num(-(a.record.created_at as f64)),
                SortKey::Text(a.record.id.clone()),
            ],
            search: format!(
                "{} {} {} {}",
                a.record.id,
                a.record.action.describe(),
                a.record.proposed_by.label(),
                a.record.reason.clone().unwrap_or_default()
            ),
        })
        .collect();
    Table {
        columns: columns(),
        rows,
        empty: "nothing waits for approval".into(),
        total: 0,
    }
}

fn via_name(v: crate::engine::Via) -> &'static str {
    use crate::engine::Via;
    match v {
        Via::Cli => "the CLI",
        Via::Tui => "the console",
        Via::Api => "the API",
        Via::Assistant => "the assistant",
        Via::Policy => "policy",
    }
}

/// The full plan of an action, as the confirmation and approval dialogs show it.
pub fn plan_detail(a: &crate::engine::ActionRecord, now: i64) -> Detail {
    let mut d = Detail::new(a.action.describe());
    d.field("id", a.id.clone(), Role::Muted);
    d.field("state", a.state.as_str(), status_role(a.state.as_str()));
    d.field(
        "proposed",
        format!(
            "by {} via {}, {} ago",
            a.proposed_by.label(),
            via_name(a.proposed_by.via),
            fmt::age(now - a.created_at)
        ),
        Role::Text,
    );
    if let Some(r) = &a.reason {
        d.field("why", r.clone(), Role::Text);
    }
    if let Some(rule) = &a.policy_rule {
        d.field(
            "policy",
            rule.clone(),
            if a.state == ActionState::PendingApproval || a.state == ActionState::Proposed {
                Role::Warn
            } else {
                Role::Text
            },
        );
    }
    let Some(plan) = &a.plan else {
        d.text("no plan", Role::Error);
        return d;
    };
    d.heading(&plan.summary);
    for t in &plan.targets {
        d.line(vec![
            Cell::new(format!("{:<12}", t.node), Role::Accent),
            Cell::text(format!("{} (vmid {})", t.name, t.vmid)),
        ]);
        let mut net = Vec::new();
        if let Some(ip) = t.ip {
            net.push(format!("ip {ip}/{}", t.prefix_len));
        }
        if let Some(gw) = t.gateway {
            net.push(format!("gw {gw}"));
        }
        if let Some(mac) = t.mac {
            net.push(format!("mac {mac}"));
        }
        net.push(format!("hostname {}", t.hostname));
        d.line(vec![
            Cell::muted(" ".repeat(12)),
            Cell::text(net.join("  ")),
        ]);
        let mut how = Vec::new();
        if let Some(s) = &t.strategy {
            how.push(s.describe());
        }
        if let Some(st) = &t.storage {
            how.push(format!("disks on {st}"));
        }
        if !how.is_empty() {
            d.line(vec![
                Cell::muted(" ".repeat(12)),
                Cell::muted(how.join(", ")),
            ]);
        }
    }
    if let Some(s) = &plan.snapshot {
        d.field("snapshot", s.clone(), Role::Text);
    }
    if let Some(s) = &plan.safety_snapshot {
        d.field("safety", format!("snapshot {s} first"), Role::Warn);
    }
    d.heading("steps");
    for s in &plan.steps {
        d.line(vec![
            Cell::muted(format!("{:>3}. ", s.seq)),
            Cell::text(format!("{:<24} ", s.key)),
            Cell::muted(s.description.clone()),
        ]);
    }
    for n in &plan.notes {
        d.text(format!("note: {n}"), Role::Warn);
    }
    if let Some(h) = &a.plan_hash {
        d.field(
            "plan hash",
            h.chars().take(16).collect::<String>(),
            Role::Muted,
        );
    }
    d
}

pub fn detail(world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    let a: &ActionOverview = world.action(key)?;
    let mut d = plan_detail(&a.record, ctx.now);
    d.blank();
    d.text("a approve this plan · x reject with a reason", Role::Muted);
    Some(d)
}
