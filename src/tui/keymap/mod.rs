//! Commands and the keys bound to them. The same table handles key presses,
//! draws the hints in the footer and in dialogs, and generates the `?` help,
//! so no hint can drift from the key that does it.

mod commands;
mod defaults;

use std::collections::BTreeMap;

pub use commands::{Cmd, Meta};

use super::keyspec::KeySpec;
use super::panes::PaneId;
use crate::config::console::ConsoleConfig;
use crate::config::{ConfigIssue, Issues};

/// The dialogs, each with keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogKind {
    Confirm,
    Form,
    Help,
    Detail,
    Log,
    Message,
}

impl DialogKind {
    fn title(self) -> &'static str {
        match self {
            DialogKind::Confirm => "confirmations",
            DialogKind::Form => "forms",
            DialogKind::Help => "help",
            DialogKind::Detail => "details",
            DialogKind::Log => "logs",
            DialogKind::Message => "messages",
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Panes(Vec<PaneId>),
    Dialog(DialogKind),
}

impl Scope {
    fn covers_pane(&self, pane: PaneId) -> bool {
        match self {
            Scope::Global => true,
            Scope::Panes(ps) => ps.contains(&pane),
            Scope::Dialog(_) => false,
        }
    }

    fn overlaps(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::Global, Scope::Global) => true,
            (Scope::Panes(x), Scope::Panes(y)) => x.iter().any(|p| y.contains(p)),
            (Scope::Dialog(a), Scope::Dialog(b)) => a == b,
            _ => false,
        }
    }

    fn section(&self) -> String {
        match self {
            Scope::Global => "everywhere".to_string(),
            Scope::Panes(ps) => ps.iter().map(|p| p.title()).collect::<Vec<_>>().join(", "),
            Scope::Dialog(d) => format!("in {}", d.title()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<KeySpec>,
    pub cmd: Cmd,
    pub scope: Scope,
    /// Shown in the footer or the dialog's hint line, lower first; None: help only.
    pub hint: Option<u8>,
}

/// One section of the help: where (`everywhere`, `Resources`, `in forms`),
/// and per binding its keys, what it does, and whether it changes the cluster.
pub type HelpSection = (String, Vec<(String, String, bool)>);

/// Commands that work inside every dialog too (scrolling).
const DIALOG_NAVIGATION: &[Cmd] = &[
    Cmd::Up,
    Cmd::Down,
    Cmd::PageUp,
    Cmd::PageDown,
    Cmd::Top,
    Cmd::Bottom,
    Cmd::Left,
    Cmd::Right,
];

/// The bindings in force.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Keymap {
    /// The keymap `console.keys` asks for: the defaults with the listed
    /// commands' keys replaced. Unknown commands, keys that do not parse and
    /// two commands on one key are reported at the place they were written.
    pub fn from_config(c: &ConsoleConfig) -> Result<Keymap, Vec<ConfigIssue>> {
        let mut issues = Issues::new(&c.file);
        let mut overrides = BTreeMap::new();
        for o in &c.keys {
            let Some(cmd) = Cmd::from_name(&o.command.value) else {
                issues.error(
                    o.command.pos,
                    &o.command.field,
                    format!(
                        "unknown command '{}' (commands: {})",
                        o.command.value,
                        Cmd::all()
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            };
            let mut specs = Vec::new();
            let mut bad = false;
            for k in &o.keys {
                match KeySpec::parse(&k.value) {
                    Ok(s) => specs.push(s),
                    Err(e) => {
                        bad = true;
                        issues.error(k.pos, &k.field, e);
                    }
                }
            }
            if bad {
                continue;
            }
            if specs.is_empty() {
                issues.error(o.command.pos, &o.command.field, "give at least one key");
                continue;
            }
            overrides.insert(cmd, specs);
        }
        let km = Keymap::default().with_overrides(&overrides);
        if let (Err(e), Some(at)) = (&km, &c.keys_at) {
            issues.error(at.pos, &at.field, e.clone());
        }
        if issues.has_errors() {
            return Err(issues.list);
        }
        km.map_err(|e| vec![ConfigIssue::general(&c.file, e)])
    }

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

    /// The command a key runs in a dialog: the dialog's own bindings first,
    /// then the global scrolling keys.
    pub fn lookup_dialog(&self, key: KeySpec, dialog: DialogKind) -> Option<Cmd> {
        let own = self
            .bindings
            .iter()
            .find(|b| b.scope == Scope::Dialog(dialog) && b.keys.contains(&key));
        own.or_else(|| {
            self.bindings.iter().find(|b| {
                b.scope == Scope::Global
                    && DIALOG_NAVIGATION.contains(&b.cmd)
                    && b.keys.contains(&key)
            })
        })
        .map(|b| b.cmd)
    }

    /// The keys of a command where it applies in `pane`, for hints.
    pub fn keys_for(&self, cmd: Cmd, pane: PaneId) -> Vec<KeySpec> {
        self.bindings
            .iter()
            .filter(|b| b.cmd == cmd && b.scope.covers_pane(pane))
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    }

    /// The keys of a command in a dialog (its own binding, else the global one).
    pub fn dialog_keys_for(&self, cmd: Cmd, dialog: DialogKind) -> Vec<KeySpec> {
        let own: Vec<KeySpec> = self
            .bindings
            .iter()
            .filter(|b| b.cmd == cmd && b.scope == Scope::Dialog(dialog))
            .flat_map(|b| b.keys.iter().copied())
            .collect();
        if !own.is_empty() {
            return own;
        }
        self.bindings
            .iter()
            .filter(|b| b.cmd == cmd && b.scope == Scope::Global)
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    }

    /// The footer's hints in `pane`, most important first: (first key, command).
    pub fn pane_hints(&self, pane: PaneId) -> Vec<(KeySpec, Cmd)> {
        let mut h: Vec<(u8, KeySpec, Cmd)> = self
            .bindings
            .iter()
            .filter(|b| matches!(b.scope, Scope::Panes(_)) && b.scope.covers_pane(pane))
            .chain(self.bindings.iter().filter(|b| b.scope == Scope::Global))
            .filter_map(|b| Some((b.hint?, *b.keys.first()?, b.cmd)))
            .collect();
        h.sort_by_key(|(p, _, _)| *p);
        let mut seen = Vec::new();
        h.into_iter()
            .filter(|(_, _, c)| {
                let new = !seen.contains(c);
                seen.push(*c);
                new
            })
            .map(|(_, k, c)| (k, c))
            .collect()
    }

    /// A dialog's hints, most important first: (first key, command).
    pub fn dialog_hints(&self, dialog: DialogKind) -> Vec<(KeySpec, Cmd)> {
        let mut h: Vec<(u8, KeySpec, Cmd)> = self
            .bindings
            .iter()
            .filter(|b| b.scope == Scope::Dialog(dialog))
            .filter_map(|b| Some((b.hint?, *b.keys.first()?, b.cmd)))
            .collect();
        h.sort_by_key(|(p, _, _)| *p);
        h.into_iter().map(|(_, k, c)| (k, c)).collect()
    }

    /// The key that opens the help (always hinted).
    pub fn help_key(&self) -> Option<KeySpec> {
        self.bindings
            .iter()
            .find(|b| b.cmd == Cmd::Help && b.scope == Scope::Global)
            .and_then(|b| b.keys.first().copied())
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
                if a.cmd == b.cmd || !a.scope.overlaps(&b.scope) {
                    continue;
                }
                if let Some(k) = a.keys.iter().find(|k| b.keys.contains(k)) {
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

    /// Help: sections (everywhere, each pane group, each dialog), each with
    /// (keys, description) lines, generated from the bindings.
    pub fn help(&self) -> Vec<HelpSection> {
        let mut sections: Vec<HelpSection> = Vec::new();
        for cmd in Cmd::all() {
            for b in self.bindings.iter().filter(|b| b.cmd == cmd) {
                let section = b.scope.section();
                let keys = b
                    .keys
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                let line = (keys, cmd.help(), cmd.mutates());
                match sections.iter_mut().find(|(s, _)| *s == section) {
                    Some((_, lines)) => {
                        if !lines.contains(&line) {
                            lines.push(line)
                        }
                    }
                    None => sections.push((section, vec![line])),
                }
            }
        }
        sections
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
