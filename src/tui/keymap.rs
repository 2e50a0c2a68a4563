//! Commands and the keys bound to them. The same table handles key presses
//! and generates the `?` help, so the help can never drift from the keys.

use std::collections::BTreeMap;

use super::keyspec::KeySpec;
use super::pane::PaneId;
use crossterm::event::KeyCode;

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmd {
    Quit,
    Help,
    CommandLine,
    Filter,
    NextPane,
    PrevPane,
    GoPane(PaneId),
    Back,
    Refresh,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Open,
    SortNext,
    SortReverse,
    Snapshot,
    Rollback,
    Replicate,
    CloneGuest,
    AssignIp,
    DeleteGuest,
    Approve,
    Reject,
    CancelAction,
    NextSubnet,
    Backup,
    Verify,
    Restore,
    Sync,
    Prune,
    Upgrade,
}

/// Where a binding applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Panes(Vec<PaneId>),
}

impl Cmd {
    /// Every command, in help order.
    pub fn all() -> Vec<Cmd> {
        let mut v = vec![
            Cmd::Help,
            Cmd::CommandLine,
            Cmd::Filter,
            Cmd::NextPane,
            Cmd::PrevPane,
        ];
        v.extend(PaneId::ALL.iter().map(|p| Cmd::GoPane(*p)));
        v.extend([
            Cmd::Back,
            Cmd::Refresh,
            Cmd::Quit,
            Cmd::Up,
            Cmd::Down,
            Cmd::PageUp,
            Cmd::PageDown,
            Cmd::Top,
            Cmd::Bottom,
            Cmd::Left,
            Cmd::Right,
            Cmd::Open,
            Cmd::SortNext,
            Cmd::SortReverse,
            Cmd::NextSubnet,
            Cmd::Snapshot,
            Cmd::Rollback,
            Cmd::Backup,
            Cmd::Verify,
            Cmd::Restore,
            Cmd::Sync,
            Cmd::Prune,
            Cmd::Upgrade,
            Cmd::Replicate,
            Cmd::CloneGuest,
            Cmd::AssignIp,
            Cmd::DeleteGuest,
            Cmd::Approve,
            Cmd::Reject,
            Cmd::CancelAction,
        ]);
        v
    }

    /// The name used in `console.keys` of proxdeck.yml.
    pub fn name(self) -> String {
        match self {
            Cmd::GoPane(p) => format!("pane-{}", p.slug()),
            other => match other {
                Cmd::Quit => "quit",
                Cmd::Help => "help",
                Cmd::CommandLine => "command-line",
                Cmd::Filter => "filter",
                Cmd::NextPane => "next-pane",
                Cmd::PrevPane => "previous-pane",
                Cmd::Back => "back",
                Cmd::Refresh => "refresh",
                Cmd::Up => "up",
                Cmd::Down => "down",
                Cmd::PageUp => "page-up",
                Cmd::PageDown => "page-down",
                Cmd::Top => "top",
                Cmd::Bottom => "bottom",
                Cmd::Left => "left",
                Cmd::Right => "right",
                Cmd::Open => "open",
                Cmd::SortNext => "sort",
                Cmd::SortReverse => "sort-reverse",
                Cmd::Snapshot => "snapshot",
                Cmd::Rollback => "rollback",
                Cmd::Replicate => "replicate",
                Cmd::CloneGuest => "clone",
                Cmd::AssignIp => "assign-ip",
                Cmd::DeleteGuest => "delete-guest",
                Cmd::Approve => "approve",
                Cmd::Reject => "reject",
                Cmd::CancelAction => "cancel-action",
                Cmd::NextSubnet => "next-subnet",
                Cmd::Backup => "backup",
                Cmd::Verify => "verify",
                Cmd::Restore => "restore",
                Cmd::Sync => "sync",
                Cmd::Prune => "prune",
                Cmd::Upgrade => "upgrade",
                Cmd::GoPane(_) => "",
            }
            .to_string(),
        }
    }

    pub fn from_name(name: &str) -> Option<Cmd> {
        Cmd::all().into_iter().find(|c| c.name() == name)
    }

    /// What the command does, for the help screen.
    pub fn help(self) -> String {
        match self {
            Cmd::Quit => "quit (asks first while actions run here)".into(),
            Cmd::Help => "this help".into(),
            Cmd::CommandLine => {
                "command line (:backups, :ip node-02, :replicate NAME all, :q)".into()
            }
            Cmd::Filter => "filter the list (text, or ~regex)".into(),
            Cmd::NextPane => "next pane".into(),
            Cmd::PrevPane => "previous pane".into(),
            Cmd::GoPane(p) => format!("{} pane", p.title()),
            Cmd::Back => "close the dialog, clear the filter".into(),
            Cmd::Refresh => "read the cluster now".into(),
            Cmd::Up => "up".into(),
            Cmd::Down => "down".into(),
            Cmd::PageUp => "page up".into(),
            Cmd::PageDown => "page down".into(),
            Cmd::Top => "first row".into(),
            Cmd::Bottom => "last row".into(),
            Cmd::Left => "collapse / left".into(),
            Cmd::Right => "expand / right".into(),
            Cmd::Open => "details, task log".into(),
            Cmd::SortNext => "sort by the next column".into(),
            Cmd::SortReverse => "reverse the sort".into(),
            Cmd::Snapshot => "snapshot the guest… (a node: LVM snapshot…)".into(),
            Cmd::Rollback => "roll back to the snapshot (LVM: merge it back)".into(),
            Cmd::Backup => "back up the guest…".into(),
            Cmd::Verify => "verify the archive".into(),
            Cmd::Restore => "restore as a new guest to a node…".into(),
            Cmd::Sync => "copy to the secondary storage".into(),
            Cmd::Prune => "prune the guest's backups by retention".into(),
            Cmd::Upgrade => "upgrade the node behind an LVM snapshot".into(),
            Cmd::Replicate => "replicate to all nodes / to a node…".into(),
            Cmd::CloneGuest => "clone to a node…".into(),
            Cmd::AssignIp => "assign a static IP…".into(),
            Cmd::DeleteGuest => "delete the guest".into(),
            Cmd::Approve => "approve the plan shown".into(),
            Cmd::Reject => "reject, with a reason…".into(),
            Cmd::CancelAction => "cancel the action".into(),
            Cmd::NextSubnet => "next node subnet".into(),
        }
    }

    /// Whether the command changes the cluster (refused in read-only mode).
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Cmd::Snapshot
                | Cmd::Rollback
                | Cmd::Backup
                | Cmd::Verify
                | Cmd::Restore
                | Cmd::Sync
                | Cmd::Prune
                | Cmd::Upgrade
                | Cmd::Replicate
                | Cmd::CloneGuest
                | Cmd::AssignIp
                | Cmd::DeleteGuest
                | Cmd::Approve
                | Cmd::CancelAction
        )
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<KeySpec>,
    pub cmd: Cmd,
    pub scope: Scope,
}

/// The bindings in force.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

fn panes(p: &[PaneId]) -> Scope {
    Scope::Panes(p.to_vec())
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCode::*;
        use PaneId::*;
        let k = KeySpec::ch;
        let p = KeySpec::plain;
        let mut b = vec![
            (vec![k('q'), KeySpec::ctrl('c')], Cmd::Quit, Scope::Global),
            (vec![k('?'), p(F(1))], Cmd::Help, Scope::Global),
            (vec![k(':')], Cmd::CommandLine, Scope::Global),
            (vec![k('/')], Cmd::Filter, Scope::Global),
            (vec![p(Tab)], Cmd::NextPane, Scope::Global),
            (vec![p(BackTab)], Cmd::PrevPane, Scope::Global),
            (vec![p(Esc)], Cmd::Back, Scope::Global),
            (vec![KeySpec::ctrl('r')], Cmd::Refresh, Scope::Global),
            (vec![k('k'), p(Up)], Cmd::Up, Scope::Global),
            (vec![k('j'), p(Down)], Cmd::Down, Scope::Global),
            (
                vec![p(PageUp), KeySpec::ctrl('u')],
                Cmd::PageUp,
                Scope::Global,
            ),
            (
                vec![p(PageDown), KeySpec::ctrl('d')],
                Cmd::PageDown,
                Scope::Global,
            ),
            (vec![k('g'), p(Home)], Cmd::Top, Scope::Global),
            (vec![k('G'), p(End)], Cmd::Bottom, Scope::Global),
            (vec![k('h'), p(Left)], Cmd::Left, Scope::Global),
            (vec![k('l'), p(Right)], Cmd::Right, Scope::Global),
            (vec![p(Enter)], Cmd::Open, Scope::Global),
            (vec![k('o')], Cmd::SortNext, Scope::Global),
            (vec![k('O')], Cmd::SortReverse, Scope::Global),
            (vec![k('n')], Cmd::NextSubnet, panes(&[IpMap])),
            (vec![k('s')], Cmd::Snapshot, panes(&[Resources, Snapshots])),
            (vec![k('r')], Cmd::Rollback, panes(&[Snapshots])),
            (vec![k('r')], Cmd::Replicate, panes(&[Resources])),
            (vec![k('b')], Cmd::Backup, panes(&[Resources])),
            (vec![k('U')], Cmd::Upgrade, panes(&[Resources])),
            (vec![k('v')], Cmd::Verify, panes(&[Backups])),
            (vec![k('R')], Cmd::Restore, panes(&[Backups])),
            (vec![k('y')], Cmd::Sync, panes(&[Backups])),
            (vec![k('p')], Cmd::Prune, panes(&[Backups])),
            (vec![k('c')], Cmd::CloneGuest, panes(&[Resources])),
            (vec![k('i')], Cmd::AssignIp, panes(&[Resources, IpMap])),
            (vec![k('D')], Cmd::DeleteGuest, panes(&[Resources])),
            (vec![k('a')], Cmd::Approve, panes(&[Approvals])),
            (vec![k('x')], Cmd::Reject, panes(&[Approvals])),
            (
                vec![k('C')],
                Cmd::CancelAction,
                panes(&[Replication, Approvals, Tasks]),
            ),
        ];
        for (i, pane) in PaneId::ALL.iter().enumerate() {
            let digit = char::from(b'1' + i as u8);
            b.push((vec![k(digit)], Cmd::GoPane(*pane), Scope::Global));
        }
        Keymap {
            bindings: b
                .into_iter()
                .map(|(keys, cmd, scope)| Binding { keys, cmd, scope })
                .collect(),
        }
    }
}

impl Keymap {
    /// The command a key runs in `pane`: pane bindings first, then global ones.
    pub fn lookup(&self, key: KeySpec, pane: PaneId) -> Option<Cmd> {
        let in_pane = self.bindings.iter().find(|b| {
            matches!(&b.scope, Scope::Panes(ps) if ps.contains(&pane)) && b.keys.contains(&key)
        });
        in_pane
            .or_else(|| {
                self.bindings
                    .iter()
                    .find(|b| b.scope == Scope::Global && b.keys.contains(&key))
            })
            .map(|b| b.cmd)
    }

    /// The keys of a command where it applies in `pane`, for hints.
    pub fn keys_for(&self, cmd: Cmd, pane: PaneId) -> Vec<KeySpec> {
        self.bindings
            .iter()
            .filter(|b| b.cmd == cmd)
            .filter(|b| match &b.scope {
                Scope::Global => true,
                Scope::Panes(ps) => ps.contains(&pane),
            })
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    }

    /// Replace the keys of commands (from `console.keys`). Every binding of a
    /// command gets the new keys; an override naming a key another command in
    /// the same scope uses is refused, naming both.
    pub fn with_overrides(
        mut self,
        overrides: &BTreeMap<Cmd, Vec<KeySpec>>,
    ) -> Result<Keymap, String> {
        for (cmd, keys) in overrides {
            for b in self.bindings.iter_mut().filter(|b| b.cmd == *cmd) {
                b.keys = keys.clone();
            }
        }
        // Two commands on one key in overlapping scopes would hide one of them.
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                if a.cmd == b.cmd {
                    continue;
                }
                let overlap = match (&a.scope, &b.scope) {
                    (Scope::Global, Scope::Global) => true,
                    (Scope::Panes(x), Scope::Panes(y)) => x.iter().any(|p| y.contains(p)),
                    _ => false,
                };
                if let Some(k) = a.keys.iter().find(|k| overlap && b.keys.contains(k)) {
                    return Err(format!(
                        "key '{k}' is bound to both '{}' and '{}'",
                        a.cmd.name(),
                        b.cmd.name()
                    ));
                }
            }
        }
        Ok(self)
    }

    /// Help lines: (section, keys, description), generated from the bindings.
    pub fn help(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for cmd in Cmd::all() {
            for b in self.bindings.iter().filter(|b| b.cmd == cmd) {
                let section = match &b.scope {
                    Scope::Global => "everywhere".to_string(),
                    Scope::Panes(ps) => ps.iter().map(|p| p.title()).collect::<Vec<_>>().join(", "),
                };
                let keys = b
                    .keys
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                if seen.insert((section.clone(), cmd)) {
                    out.push((section, keys, cmd.help()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_bindings_win_over_global_ones() {
        let km = Keymap::default();
        assert_eq!(
            km.lookup(KeySpec::ch('r'), PaneId::Resources),
            Some(Cmd::Replicate)
        );
        assert_eq!(
            km.lookup(KeySpec::ch('r'), PaneId::Snapshots),
            Some(Cmd::Rollback)
        );
        assert_eq!(km.lookup(KeySpec::ch('r'), PaneId::Tasks), None);
        assert_eq!(
            km.lookup(KeySpec::ch('3'), PaneId::Tasks),
            Some(Cmd::GoPane(PaneId::Backups))
        );
    }

    #[test]
    fn every_command_has_a_unique_name_and_a_binding() {
        let km = Keymap::default();
        let mut names = std::collections::HashSet::new();
        for c in Cmd::all() {
            assert!(names.insert(c.name()), "{}", c.name());
            assert_eq!(Cmd::from_name(&c.name()), Some(c));
            assert!(
                km.bindings.iter().any(|b| b.cmd == c),
                "{} unbound",
                c.name()
            );
        }
        assert!(Keymap::default().with_overrides(&BTreeMap::new()).is_ok());
    }

    #[test]
    fn overrides_replace_keys_and_clashes_are_refused() {
        let mut o = BTreeMap::new();
        o.insert(Cmd::Snapshot, vec![KeySpec::ch('S')]);
        let km = Keymap::default().with_overrides(&o).expect("no clash");
        assert_eq!(
            km.lookup(KeySpec::ch('S'), PaneId::Resources),
            Some(Cmd::Snapshot)
        );
        assert_eq!(km.lookup(KeySpec::ch('s'), PaneId::Resources), None);
        let mut clash = BTreeMap::new();
        clash.insert(Cmd::Help, vec![KeySpec::ch('q')]);
        let err = Keymap::default().with_overrides(&clash).expect_err("clash");
        assert!(
            err.contains("'q'") && err.contains("help") && err.contains("quit"),
            "{err}"
        );
    }
}
