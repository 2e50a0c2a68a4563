//! Everything a key can do, with its name (for `console.keys`), its short
//! label (for hints), whether it changes the cluster, and its help line, all
//! in one table so no list can fall out of step with another.

use crate::tui::panes::PaneId;

/// What one command is called and does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// The name in `console.keys` of proxdeck.yml.
    pub name: &'static str,
    /// A word or two for the footer and dialog hints.
    pub label: &'static str,
    /// Changes the cluster (refused in read-only mode).
    pub mutates: bool,
    /// The help screen's line.
    pub help: &'static str,
}

macro_rules! commands {
    ($($v:ident => $name:literal, $label:literal, $mutates:literal, $help:literal;)*) => {
        /// Everything a key can do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Cmd {
            $($v,)*
            /// Go to a pane (`1`..`7`).
            GoPane(PaneId),
        }

        impl Cmd {
            /// The commands of the table, in help order (panes come after `PrevPane`).
            const LISTED: &'static [Cmd] = &[$(Cmd::$v,)*];

            /// The table's entry (None for `GoPane`, named after its pane).
            fn meta(self) -> Option<Meta> {
                match self {
                    $(Cmd::$v => Some(Meta { name: $name, label: $label, mutates: $mutates, help: $help }),)*
                    Cmd::GoPane(_) => None,
                }
            }
        }
    };
}

commands! {
    Help => "help", "help", false, "this help";
    CommandLine => "command-line", "command", false, "command line (:backups, :ip node-02, :replicate NAME --to all, :q)";
    Filter => "filter", "filter", false, "filter the list (text, or ~regex)";
    NextPane => "next-pane", "next pane", false, "next pane";
    PrevPane => "previous-pane", "previous pane", false, "previous pane";
    Back => "back", "back", false, "close the dialog, clear the filter";
    Refresh => "refresh", "refresh", false, "read the cluster now";
    Quit => "quit", "quit", false, "quit (asks first while actions run here)";
    Up => "up", "up", false, "up";
    Down => "down", "scroll", false, "down";
    PageUp => "page-up", "page up", false, "page up";
    PageDown => "page-down", "page down", false, "page down";
    Top => "top", "top", false, "first row";
    Bottom => "bottom", "bottom", false, "last row";
    Left => "left", "collapse", false, "collapse / left";
    Right => "right", "expand", false, "expand / right";
    Open => "open", "detail", false, "details, task log";
    SortNext => "sort", "sort", false, "sort by the next column";
    SortReverse => "sort-reverse", "reverse", false, "reverse the sort";
    NextSubnet => "next-subnet", "next subnet", false, "next node subnet";
    Snapshot => "snapshot", "snapshot", true, "snapshot the guest… (a node: LVM snapshot…)";
    Rollback => "rollback", "rollback", true, "roll back to the snapshot (LVM: merge it back)";
    Backup => "backup", "backup", true, "back up the guest…";
    Verify => "verify", "verify", true, "verify the archive";
    Restore => "restore", "restore", true, "restore as a new guest to a node…";
    Sync => "sync", "sync", true, "copy to the secondary storage";
    Prune => "prune", "prune", true, "prune the guest's backups by retention";
    Upgrade => "upgrade", "upgrade", true, "upgrade the node behind an LVM snapshot";
    Replicate => "replicate", "replicate", true, "replicate to all nodes / to a node…";
    CloneGuest => "clone", "clone", true, "clone to a node…";
    AssignIp => "assign-ip", "assign IP", true, "assign a static IP…";
    DeleteGuest => "delete-guest", "delete", true, "delete the guest";
    Approve => "approve", "approve", true, "approve the plan shown";
    Reject => "reject", "reject", false, "reject, with a reason…";
    CancelAction => "cancel-action", "cancel", true, "cancel the action";
    Confirm => "confirm", "confirm", false, "dialogs: yes, do it";
    Decline => "decline", "back", false, "dialogs: no, go back";
    Reason => "reason", "reason", false, "dialogs: type a reason";
    SubmitForm => "submit-form", "plan it", false, "forms: plan what the form says";
    CancelForm => "cancel-form", "cancel", false, "forms: close without planning";
    NextField => "next-field", "next field", false, "forms: next field";
    PrevField => "previous-field", "previous field", false, "forms: previous field";
    CloseView => "close", "close", false, "help, details, logs: close";
    Follow => "follow", "follow", false, "logs: follow the end";
}

impl Cmd {
    /// Every command, in help order.
    pub fn all() -> Vec<Cmd> {
        let mut v = Vec::new();
        for c in Cmd::LISTED {
            v.push(*c);
            if *c == Cmd::PrevPane {
                v.extend(PaneId::ALL.iter().map(|p| Cmd::GoPane(*p)));
            }
        }
        v
    }

    /// The name used in `console.keys` of proxdeck.yml.
    pub fn name(self) -> String {
        match (self, self.meta()) {
            (Cmd::GoPane(p), _) => format!("pane-{}", p.slug()),
            (_, Some(m)) => m.name.to_string(),
            (_, None) => String::new(),
        }
    }

    pub fn from_name(name: &str) -> Option<Cmd> {
        Cmd::all().into_iter().find(|c| c.name() == name)
    }

    /// What the command does, for the help screen.
    pub fn help(self) -> String {
        match (self, self.meta()) {
            (Cmd::GoPane(p), _) => format!("{} pane", p.title()),
            (_, Some(m)) => m.help.to_string(),
            (_, None) => String::new(),
        }
    }

    /// A word or two for hints.
    pub fn label(self) -> String {
        match (self, self.meta()) {
            (Cmd::GoPane(p), _) => p.title().to_lowercase(),
            (_, Some(m)) => m.label.to_string(),
            (_, None) => String::new(),
        }
    }

    /// Whether the command changes the cluster (refused in read-only mode).
    pub fn mutates(self) -> bool {
        self.meta().is_some_and(|m| m.mutates)
    }
}
