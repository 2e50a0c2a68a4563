//! The panes: each builds its rows (a `Table`) and the detail of a selected
//! row from the `World`, without touching the terminal, so both can be tested
//! and snapshotted from fixtures.

pub mod approvals;
pub mod backups;
pub mod id;
pub mod ipmap;
pub mod ipmap_grid;
pub mod replication;
pub mod resources;
pub mod resources_detail;
pub mod snapshots;
pub mod tasks;

pub use id::PaneId;

use std::collections::HashSet;

use super::state::IpCursor;
use super::table::{Cell, Table};
use super::theme::Role;
use super::world::World;
use crate::config::Config;

/// What building rows needs besides the world.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub now: i64,
    pub collapsed: &'a HashSet<String>,
    pub ip: &'a IpCursor,
    /// A filter is active: folded tree rows open so matches can show.
    pub filtering: bool,
    /// The zone times are shown in.
    pub tz: &'a jiff::tz::TimeZone,
}

impl Ctx<'_> {
    /// A Unix time as `fmt` in the console's zone.
    pub fn time(&self, unix: i64, fmt: &str) -> String {
        crate::timefmt::format_in(unix, fmt, self.tz)
    }
}

/// The detail of a selected row: a title and lines of styled cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub title: String,
    pub lines: Vec<Vec<Cell>>,
}

impl Detail {
    pub fn new(title: impl Into<String>) -> Detail {
        Detail {
            title: title.into(),
            lines: Vec::new(),
        }
    }

    /// A `label  value` line.
    pub fn field(&mut self, label: &str, value: impl Into<String>, role: Role) {
        self.lines.push(vec![
            Cell::muted(format!("{label:<11} ")),
            Cell::new(value, role),
        ]);
    }

    pub fn line(&mut self, cells: Vec<Cell>) {
        self.lines.push(cells);
    }

    pub fn text(&mut self, text: impl Into<String>, role: Role) {
        self.lines.push(vec![Cell::new(text, role)]);
    }

    pub fn blank(&mut self) {
        self.lines.push(Vec::new());
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        if !self.lines.is_empty() {
            self.blank();
        }
        self.lines.push(vec![Cell::new(text, Role::Title)]);
    }
}

pub fn table(pane: PaneId, world: &World, ctx: &Ctx<'_>) -> Table {
    match pane {
        PaneId::Resources => resources::table(world, ctx),
        PaneId::Snapshots => snapshots::table(world, ctx),
        PaneId::Backups => backups::table(world, ctx),
        PaneId::IpMap => ipmap::table(world, ctx),
        PaneId::Replication => replication::table(world, ctx),
        PaneId::Approvals => approvals::table(world, ctx),
        PaneId::Tasks => tasks::table(world, ctx),
    }
}

pub fn detail(pane: PaneId, world: &World, key: &str, ctx: &Ctx<'_>) -> Option<Detail> {
    match pane {
        PaneId::Resources => resources::detail(world, key, ctx),
        PaneId::Snapshots => snapshots::detail(world, key, ctx),
        PaneId::Backups => backups::detail(world, key, ctx),
        PaneId::IpMap => ipmap::detail(world, key, ctx),
        PaneId::Replication => replication::detail(world, key, ctx),
        PaneId::Approvals => approvals::detail(world, key, ctx),
        PaneId::Tasks => tasks::detail(world, key, ctx),
    }
}

/// Colour of a guest or node status.
pub fn status_role(status: &str) -> Role {
    match status {
        "running" | "online" | "OK" | "ok" | "success" | "succeeded" | "completed" => Role::Ok,
        "stopped" | "template" => Role::Muted,
        "paused" | "suspended" | "unknown" | "pending" | "pending_approval" | "approved" => {
            Role::Warn
        }
        "offline" | "failed" | "error" | "rolled_back" | "rejected" => Role::Error,
        _ => Role::Text,
    }
}

/// Colour of a usage fraction.
pub fn load_role(frac: f64) -> Role {
    if frac >= 0.9 {
        Role::Error
    } else if frac >= 0.75 {
        Role::Warn
    } else {
        Role::Gauge
    }
}
