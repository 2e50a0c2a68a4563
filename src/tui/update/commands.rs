//! What each command of the keymap does in normal mode.

use super::*;

/// Run a command in normal mode.
pub fn run(s: &mut State, cmd: Cmd) -> Vec<Effect> {
    if cmd.mutates()
        && let Some(why) = s.read_only.clone()
    {
        s.say(format!("{} is disabled: {why}", cmd.name()), Role::Warn);
        return Vec::new();
    }
    let pane = s.pane;
    match cmd {
        Cmd::Quit => {
            let running = s.running_here();
            if running > 0 {
                s.dialogs.push(Dialog::Confirm(Box::new(Confirm {
                    kind: ConfirmKind::Quit { running },
                    scroll: 0,
                    reason: None,
                    reason_focus: false,
                })));
                return Vec::new();
            }
            s.quit = true;
            vec![Effect::Quit]
        }
        Cmd::Help => {
            s.dialogs.push(Dialog::Help { scroll: 0 });
            Vec::new()
        }
        Cmd::CommandLine => {
            s.mode = Mode::Command {
                input: TextArea::default(),
                completions: Vec::new(),
                chosen: None,
            };
            Vec::new()
        }
        Cmd::Filter => {
            let mut ta = TextArea::new(vec![s.filter(pane).text]);
            ta.move_cursor(ratatui_textarea::CursorMove::End);
            s.mode = Mode::Filter(ta);
            Vec::new()
        }
        Cmd::NextPane => {
            go_to(s, pane.next(), None);
            Vec::new()
        }
        Cmd::PrevPane => {
            go_to(s, pane.prev(), None);
            Vec::new()
        }
        Cmd::GoPane(p) => {
            go_to(s, p, None);
            Vec::new()
        }
        Cmd::Back => {
            if !s.filter(pane).is_empty() {
                set_filter(s, pane, "");
            } else {
                s.status = None;
            }
            Vec::new()
        }
        Cmd::Refresh => {
            s.say("reading the cluster…", Role::Muted);
            vec![Effect::Refresh]
        }
        Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom => {
            move_selection(s, cmd);
            Vec::new()
        }
        Cmd::Left | Cmd::Right => {
            left_right(s, cmd == Cmd::Right);
            Vec::new()
        }
        Cmd::Open => open(s),
        Cmd::SortNext | Cmd::SortReverse => {
            let cols = s.table(pane).columns.len().max(1);
            let list = s.lists.entry(pane).or_default();
            if cmd == Cmd::SortNext {
                list.sort.column = (list.sort.column + 1) % cols;
            } else {
                list.sort.desc = !list.sort.desc;
            }
            let title = s
                .table(pane)
                .columns
                .get(s.list(pane).sort.column)
                .map(|c| c.title)
                .unwrap_or("");
            let desc = s.list(pane).sort.desc;
            s.say(
                format!("sorted by {title}{}", if desc { " (reversed)" } else { "" }),
                Role::Muted,
            );
            s.rebuild(pane);
            Vec::new()
        }
        Cmd::NextSubnet => {
            let nodes: Vec<String> = s.config.naming.subnets.keys().cloned().collect();
            let ctx_node = s.ip.node.clone().or_else(|| nodes.first().cloned());
            let i = ctx_node
                .and_then(|n| nodes.iter().position(|x| *x == n))
                .unwrap_or(0);
            if let Some(n) = nodes.get((i + 1) % nodes.len().max(1)) {
                s.ip.node = Some(n.clone());
                s.lists.remove(&PaneId::IpMap);
                s.rebuild(PaneId::IpMap);
            }
            Vec::new()
        }
        Cmd::Snapshot => open_form(s, intents::snapshot_form),
        Cmd::Replicate => open_form(s, intents::replicate_form),
        Cmd::CloneGuest => open_form(s, intents::clone_form),
        Cmd::AssignIp => {
            if pane == PaneId::IpMap {
                s.say(
                    "select the guest in Resources and press i (the form checks the address)",
                    Role::Muted,
                );
                return Vec::new();
            }
            open_form(s, intents::assign_ip_form)
        }
        Cmd::Rollback => propose(s, intents::rollback),
        Cmd::Backup => open_form(s, intents::backup_form),
        Cmd::Restore => open_form(s, intents::restore_form),
        Cmd::Verify => propose(s, |s| intents::backup_action(s, "verify")),
        Cmd::Sync => propose(s, |s| intents::backup_action(s, "sync")),
        Cmd::Prune => propose(s, |s| intents::backup_action(s, "prune")),
        Cmd::Upgrade => propose(s, intents::upgrade),
        Cmd::DeleteGuest => propose(s, intents::delete_guest),
        Cmd::Approve => {
            if let Some(rec) = selected_action(s, &[ActionState::PendingApproval]) {
                s.dialogs.push(Dialog::Confirm(Box::new(Confirm {
                    kind: ConfirmKind::Approve {
                        record: Box::new(rec),
                    },
                    scroll: 0,
                    reason: Some(TextArea::default()),
                    reason_focus: false,
                })));
            } else {
                s.say("select a pending plan to approve", Role::Warn);
            }
            Vec::new()
        }
        Cmd::Reject => {
            if let Some(rec) = selected_action(s, &[ActionState::PendingApproval]) {
                s.dialogs.push(Dialog::Form(intents::reject_form(
                    &rec.id,
                    &rec.action.describe(),
                )));
            } else {
                s.say("select a pending plan to reject", Role::Warn);
            }
            Vec::new()
        }
        Cmd::CancelAction => {
            let states = [
                ActionState::PendingApproval,
                ActionState::Approved,
                ActionState::Running,
            ];
            if let Some(rec) = selected_action(s, &states) {
                s.dialogs.push(Dialog::Confirm(Box::new(Confirm {
                    kind: ConfirmKind::Cancel {
                        id: rec.id.clone(),
                        summary: rec.action.describe(),
                    },
                    scroll: 0,
                    reason: None,
                    reason_focus: false,
                })));
            } else {
                s.say("select an action that has not ended", Role::Warn);
            }
            Vec::new()
        }
        // Dialog commands; no dialog is open in normal mode.
        Cmd::Confirm
        | Cmd::Decline
        | Cmd::Reason
        | Cmd::SubmitForm
        | Cmd::CancelForm
        | Cmd::NextField
        | Cmd::PrevField
        | Cmd::CloseView
        | Cmd::Follow => Vec::new(),
    }
}

pub(super) fn open_form(
    s: &mut State,
    make: fn(&mut State) -> Option<crate::tui::forms::Form>,
) -> Vec<Effect> {
    if let Some(f) = make(s) {
        s.dialogs.push(Dialog::Form(f));
    }
    Vec::new()
}

pub(super) fn propose(s: &mut State, make: fn(&mut State) -> Option<Effect>) -> Vec<Effect> {
    match make(s) {
        Some(e) => {
            s.busy = Some("planning…".into());
            vec![e]
        }
        None => Vec::new(),
    }
}

/// The action record a row of Replication, Approvals or Tasks stands for.
pub(super) fn selected_action(
    s: &State,
    states: &[ActionState],
) -> Option<crate::engine::ActionRecord> {
    let key = s.selected(s.pane)?;
    let id = key.strip_prefix("action:").unwrap_or(key);
    s.world
        .action(id)
        .filter(|a| states.contains(&a.record.state))
        .map(|a| a.record.clone())
}
