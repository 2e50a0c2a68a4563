//! The keys proxdeck starts with (k9s-like: `:` commands, `/` filter, vim
//! keys and arrows, a letter per action), and which of them the footer and
//! the dialogs hint at.

use crossterm::event::KeyCode;

use super::{Binding, Cmd, DialogKind, Keymap, Scope};
use crate::tui::keyspec::KeySpec;
use crate::tui::panes::PaneId;

fn panes(p: &[PaneId]) -> Scope {
    Scope::Panes(p.to_vec())
}

fn dialog(d: DialogKind) -> Scope {
    Scope::Dialog(d)
}

impl Default for Keymap {
    fn default() -> Self {
        use DialogKind as D;
        use KeyCode::*;
        use PaneId::*;
        let k = KeySpec::ch;
        let p = KeySpec::plain;
        let none = None;
        // (keys, command, where, hint priority)
        let mut b: Vec<(Vec<KeySpec>, Cmd, Scope, Option<u8>)> = vec![
            (
                vec![k('q'), KeySpec::ctrl('c')],
                Cmd::Quit,
                Scope::Global,
                none,
            ),
            (vec![k('?'), p(F(1))], Cmd::Help, Scope::Global, none),
            (vec![k(':')], Cmd::CommandLine, Scope::Global, Some(60)),
            (vec![k('/')], Cmd::Filter, Scope::Global, Some(50)),
            (vec![p(Tab)], Cmd::NextPane, Scope::Global, none),
            (vec![p(BackTab)], Cmd::PrevPane, Scope::Global, none),
            (vec![p(Esc)], Cmd::Back, Scope::Global, none),
            (vec![KeySpec::ctrl('r')], Cmd::Refresh, Scope::Global, none),
            (vec![p(Up), k('k')], Cmd::Up, Scope::Global, none),
            (vec![p(Down), k('j')], Cmd::Down, Scope::Global, none),
            (
                vec![p(PageUp), KeySpec::ctrl('u')],
                Cmd::PageUp,
                Scope::Global,
                none,
            ),
            (
                vec![p(PageDown), KeySpec::ctrl('d')],
                Cmd::PageDown,
                Scope::Global,
                none,
            ),
            (vec![k('g'), p(Home)], Cmd::Top, Scope::Global, none),
            (vec![k('G'), p(End)], Cmd::Bottom, Scope::Global, none),
            (vec![k('h'), p(Left)], Cmd::Left, Scope::Global, none),
            (vec![k('l'), p(Right)], Cmd::Right, Scope::Global, none),
            (vec![p(Enter)], Cmd::Open, Scope::Global, Some(40)),
            (vec![k('o')], Cmd::SortNext, Scope::Global, none),
            (vec![k('O')], Cmd::SortReverse, Scope::Global, none),
            (vec![k('n')], Cmd::NextSubnet, panes(&[IpMap]), Some(1)),
            (
                vec![k('s')],
                Cmd::Snapshot,
                panes(&[Resources, Snapshots]),
                Some(3),
            ),
            (vec![k('r')], Cmd::Rollback, panes(&[Snapshots]), Some(4)),
            (vec![k('r')], Cmd::Replicate, panes(&[Resources]), Some(1)),
            (vec![k('b')], Cmd::Backup, panes(&[Resources]), Some(4)),
            (vec![k('U')], Cmd::Upgrade, panes(&[Resources]), none),
            (vec![k('v')], Cmd::Verify, panes(&[Backups]), Some(1)),
            (vec![k('R')], Cmd::Restore, panes(&[Backups]), Some(2)),
            (vec![k('y')], Cmd::Sync, panes(&[Backups]), Some(3)),
            (vec![k('p')], Cmd::Prune, panes(&[Backups]), Some(4)),
            (vec![k('c')], Cmd::CloneGuest, panes(&[Resources]), Some(2)),
            (
                vec![k('i')],
                Cmd::AssignIp,
                panes(&[Resources, IpMap]),
                Some(5),
            ),
            (vec![k('D')], Cmd::DeleteGuest, panes(&[Resources]), none),
            (vec![k('a')], Cmd::Approve, panes(&[Approvals]), Some(1)),
            (vec![k('x')], Cmd::Reject, panes(&[Approvals]), Some(2)),
            (
                vec![k('C')],
                Cmd::CancelAction,
                panes(&[Replication, Approvals, Tasks]),
                Some(3),
            ),
            // Confirmations: the exact plan, y or n.
            (
                vec![k('y'), k('Y'), p(Enter)],
                Cmd::Confirm,
                dialog(D::Confirm),
                Some(1),
            ),
            (
                vec![k('n'), k('N'), p(Esc), k('q')],
                Cmd::Decline,
                dialog(D::Confirm),
                Some(2),
            ),
            (
                vec![p(Tab), p(BackTab)],
                Cmd::Reason,
                dialog(D::Confirm),
                Some(3),
            ),
            (
                vec![p(Down), k('j')],
                Cmd::Down,
                dialog(D::Confirm),
                Some(4),
            ),
            // Forms.
            (vec![p(Enter)], Cmd::SubmitForm, dialog(D::Form), Some(1)),
            (
                vec![p(Tab), p(Down)],
                Cmd::NextField,
                dialog(D::Form),
                Some(2),
            ),
            (
                vec![p(BackTab), p(Up)],
                Cmd::PrevField,
                dialog(D::Form),
                none,
            ),
            (vec![p(Esc)], Cmd::CancelForm, dialog(D::Form), Some(3)),
            // Help, details, logs and messages.
            (
                vec![p(Esc), k('q'), k('?'), p(Enter)],
                Cmd::CloseView,
                dialog(D::Help),
                Some(2),
            ),
            (vec![p(Down), k('j')], Cmd::Down, dialog(D::Help), Some(1)),
            (
                vec![p(Esc), k('q'), p(Enter)],
                Cmd::CloseView,
                dialog(D::Detail),
                Some(2),
            ),
            (vec![p(Down), k('j')], Cmd::Down, dialog(D::Detail), Some(1)),
            (
                vec![p(Esc), k('q'), p(Enter), KeySpec::ctrl('c')],
                Cmd::CloseView,
                dialog(D::Log),
                Some(3),
            ),
            (vec![p(Down), k('j')], Cmd::Down, dialog(D::Log), Some(1)),
            (vec![k('G'), p(End)], Cmd::Follow, dialog(D::Log), Some(2)),
            (
                vec![p(Esc), p(Enter), k('q'), k(' ')],
                Cmd::CloseView,
                dialog(D::Message),
                Some(1),
            ),
        ];
        for (i, pane) in PaneId::ALL.iter().enumerate() {
            let digit = char::from(b'1' + i as u8);
            b.push((vec![k(digit)], Cmd::GoPane(*pane), Scope::Global, None));
        }
        Keymap {
            bindings: b
                .into_iter()
                .map(|(keys, cmd, scope, hint)| Binding {
                    keys,
                    cmd,
                    scope,
                    hint,
                })
                .collect(),
        }
    }
}
