//! The console's state. It changes only in `update`; rendering reads it.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use ratatui_textarea::TextArea;

use super::filter::Filter;
use super::forms::Form;
use super::keymap::Keymap;
use super::panes;
use super::panes::PaneId;
use super::table::{ListState, Table};
use super::theme::{Role, Theme};
use super::world::World;
use crate::config::Config;
use crate::engine::ActionRecord;

/// What the bottom line is doing.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// Typing a `/` filter (applied as it is typed).
    Filter(TextArea<'static>),
    /// Typing a `:` command, with completions for the word under the cursor.
    Command {
        input: TextArea<'static>,
        completions: Vec<String>,
        chosen: Option<usize>,
    },
}

/// Which decision a confirmation dialog carries.
#[derive(Debug, Clone)]
pub enum ConfirmKind {
    /// A held proposal: confirming queues exactly this plan.
    Submit { record: Box<ActionRecord> },
    /// Approving a pending plan (the hash of the plan shown).
    Approve { record: Box<ActionRecord> },
    /// Cancelling an action.
    Cancel { id: String, summary: String },
    /// Quitting while actions run in this process.
    Quit { running: usize },
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub kind: ConfirmKind,
    pub scroll: u16,
    /// Optional reason (approvals).
    pub reason: Option<TextArea<'static>>,
    /// Whether the reason field has the keyboard.
    pub reason_focus: bool,
}

/// Where a log comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogSource {
    /// A Proxmox task (UPID).
    Task { upid: String },
    /// One of proxdeck's actions (its journal and output).
    Action { id: String },
}

#[derive(Debug, Clone)]
pub struct LogView {
    pub source: LogSource,
    pub title: String,
    pub lines: Vec<String>,
    /// Keep the newest line in view as lines arrive.
    pub follow: bool,
    pub scroll: usize,
    pub finished: bool,
    pub error: Option<String>,
}

/// A window over the panes; the top of the stack has the keyboard.
#[derive(Debug, Clone)]
pub enum Dialog {
    Confirm(Box<Confirm>),
    Form(Form),
    Help {
        scroll: u16,
    },
    Log(LogView),
    /// The detail of the selected row (on screens too narrow for a side panel).
    Detail {
        scroll: u16,
    },
    Message {
        title: String,
        text: String,
        role: Role,
    },
}

/// A one-line message on the bottom line.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub role: Role,
    pub at: i64,
}

/// The IP map's cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpCursor {
    /// Node (short name from the convention) whose subnet is shown.
    pub node: Option<String>,
    pub cell: Option<Ipv4Addr>,
}

pub struct State {
    pub config: Arc<Config>,
    pub world: World,
    /// Unix time now (set by ticks; fixed in tests).
    pub now: i64,
    pub pane: PaneId,
    pub lists: HashMap<PaneId, ListState>,
    pub tables: HashMap<PaneId, Table>,
    pub filters: HashMap<PaneId, Filter>,
    /// Tree rows folded shut (by key).
    pub collapsed: HashSet<String>,
    pub ip: IpCursor,
    pub mode: Mode,
    pub dialogs: Vec<Dialog>,
    pub status: Option<Status>,
    /// Work in flight that the user waits for ("planning …").
    pub busy: Option<String>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Why mutations are refused, when they are.
    pub read_only: Option<String>,
    /// This process's executor name (actions it runs stop when it quits).
    pub owner: Option<String>,
    pub size: (u16, u16),
    pub mouse: bool,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The zone times are shown in (the system's; tests fix it).
    pub tz: jiff::tz::TimeZone,
    empty_list: ListState,
    empty_table: Table,
}

impl State {
    pub fn new(config: Arc<Config>, world: World, keymap: Keymap, theme: Theme, now: i64) -> State {
        let mut s = State {
            config,
            world,
            now,
            pane: PaneId::Resources,
            lists: HashMap::new(),
            tables: HashMap::new(),
            filters: HashMap::new(),
            collapsed: HashSet::new(),
            ip: IpCursor::default(),
            mode: Mode::Normal,
            dialogs: Vec::new(),
            status: None,
            busy: None,
            keymap,
            theme,
            read_only: None,
            owner: None,
            size: (80, 24),
            mouse: false,
            quit: false,
            dirty: true,
            tz: jiff::tz::TimeZone::system(),
            empty_list: ListState::default(),
            empty_table: Table::default(),
        };
        // Action lists start newest first.
        for (pane, column) in [
            (PaneId::Replication, 6),
            (PaneId::Approvals, 3),
            (PaneId::Tasks, 0),
        ] {
            s.lists.entry(pane).or_default().sort = super::table::Sort {
                column,
                desc: false,
            };
        }
        s.rebuild_all();
        s
    }

    /// The same console showing times in `tz`.
    pub fn with_zone(mut self, tz: jiff::tz::TimeZone) -> State {
        self.tz = tz;
        self.rebuild_all();
        self
    }

    pub fn filter(&self, pane: PaneId) -> Filter {
        self.filters.get(&pane).cloned().unwrap_or_default()
    }

    pub fn list(&self, pane: PaneId) -> &ListState {
        self.lists.get(&pane).unwrap_or(&self.empty_list)
    }

    pub fn table(&self, pane: PaneId) -> &Table {
        static EMPTY: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
        self.tables
            .get(&pane)
            .unwrap_or_else(|| EMPTY.get_or_init(Table::default))
    }

    /// A pane's selection to change, with its rows (no copy of them).
    pub fn list_and_table(&mut self, pane: PaneId) -> (&mut ListState, &Table) {
        let table = self.tables.get(&pane).unwrap_or(&self.empty_table);
        (self.lists.entry(pane).or_default(), table)
    }

    /// Key of the selected row in `pane`.
    pub fn selected(&self, pane: PaneId) -> Option<&str> {
        self.list(pane).selected.as_deref()
    }

    /// Rebuild one pane's rows (filter and sort applied, selection kept).
    pub fn rebuild(&mut self, pane: PaneId) {
        let list = self.lists.entry(pane).or_default();
        let sort = list.sort;
        let ctx = panes::Ctx {
            config: &self.config,
            now: self.now,
            collapsed: &self.collapsed,
            ip: &self.ip,
            filtering: self.filters.get(&pane).is_some_and(|f| !f.is_empty()),
            tz: &self.tz,
        };
        let mut table = panes::table(pane, &self.world, &ctx);
        table.sort(sort);
        let filter = self.filters.get(&pane).cloned().unwrap_or_default();
        table.filter(&filter);
        let list = self.lists.entry(pane).or_default();
        list.reconcile(&table);
        self.tables.insert(pane, table);
        self.dirty = true;
    }

    /// After a cluster read: the pane on screen only. The others are
    /// rebuilt when switched to (`go_to`), so a refresh of 10,000 guests
    /// does not rebuild seven tables nobody sees.
    pub fn rebuild_shown(&mut self) {
        self.rebuild(self.pane);
    }

    pub fn rebuild_all(&mut self) {
        for p in PaneId::ALL {
            self.rebuild(p);
        }
    }

    pub fn say(&mut self, text: impl Into<String>, role: Role) {
        self.status = Some(Status {
            text: text.into(),
            role,
            at: self.now,
        });
        self.dirty = true;
    }

    /// Actions this process is running (they stop if it quits).
    pub fn running_here(&self) -> usize {
        let Some(owner) = &self.owner else { return 0 };
        self.world
            .actions
            .data
            .iter()
            .filter(|a| {
                a.record.state == crate::engine::ActionState::Running
                    && a.record.lease_owner.as_deref() == Some(owner)
            })
            .count()
    }

    /// Pending approvals (for the tab's badge).
    pub fn pending_approvals(&self) -> usize {
        self.world
            .actions
            .data
            .iter()
            .filter(|a| a.record.state == crate::engine::ActionState::PendingApproval)
            .count()
    }
}
