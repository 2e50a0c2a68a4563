//! The panes of the console.

/// One pane (tab) of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    Resources,
    Snapshots,
    Backups,
    IpMap,
    Replication,
    Approvals,
    Tasks,
}

impl PaneId {
    pub const ALL: [PaneId; 7] = [
        PaneId::Resources,
        PaneId::Snapshots,
        PaneId::Backups,
        PaneId::IpMap,
        PaneId::Replication,
        PaneId::Approvals,
        PaneId::Tasks,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Resources => "Resources",
            PaneId::Snapshots => "Snapshots",
            PaneId::Backups => "Backups",
            PaneId::IpMap => "IP map",
            PaneId::Replication => "Replication",
            PaneId::Approvals => "Approvals",
            PaneId::Tasks => "Tasks",
        }
    }

    /// Used in key names and on the command line (`:backups`).
    pub fn slug(self) -> &'static str {
        match self {
            PaneId::Resources => "resources",
            PaneId::Snapshots => "snapshots",
            PaneId::Backups => "backups",
            PaneId::IpMap => "ip",
            PaneId::Replication => "replication",
            PaneId::Approvals => "approvals",
            PaneId::Tasks => "tasks",
        }
    }

    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn next(self) -> PaneId {
        PaneId::ALL[(self.index() + 1) % PaneId::ALL.len()]
    }

    pub fn prev(self) -> PaneId {
        PaneId::ALL[(self.index() + PaneId::ALL.len() - 1) % PaneId::ALL.len()]
    }

    /// A pane by its slug or title, as typed on the command line.
    pub fn parse(text: &str) -> Option<PaneId> {
        let t = text.to_ascii_lowercase();
        PaneId::ALL.into_iter().find(|p| {
            p.slug() == t
                || p.title().to_ascii_lowercase() == t
                || (t.len() >= 3 && p.slug().starts_with(&t))
        })
    }
}
