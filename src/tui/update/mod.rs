//! `update`: the one place the console's state changes. Keys and data come
//! in as messages; work for the loop goes out as effects. This file takes
//! the data messages; keys, commands, the command line, engine events and
//! the mouse each have their own file beside it.

mod commands;
mod engine_events;
mod keys;
mod line;
mod mouse;

pub use commands::run;
pub use engine_events::action_log_lines;
pub use keys::go_to;
pub use line::{run_command_line, set_filter};
// The files beside this one share their functions through here.
use engine_events::*;
use keys::*;
use line::*;
use mouse::*;

use crate::engine::{ActionState, EngineEvent};
use crate::tui::cmdline::{self, Command};
use crate::tui::dialogs::dialog_key;
use crate::tui::error::ConsoleError;
use crate::tui::filter::Filter;
use crate::tui::intents;
use crate::tui::keymap::Cmd;
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::{Effect, Msg};
use crate::tui::panes::PaneId;
use crate::tui::panes::{ipmap, replication, resources};
use crate::tui::state::{Confirm, ConfirmKind, Dialog, LogSource, LogView, Mode, State};
use crate::tui::theme::{Role, Theme};
use crate::tui::world::LiveProgress;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEventKind};
use ratatui_textarea::TextArea;

/// Status messages disappear after this many seconds.
const STATUS_SECS: i64 = 10;

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Release => Vec::new(),
        Msg::Key(k) => key(s, k),
        Msg::Mouse(m) => mouse(s, m),
        Msg::Resize(w, h) => {
            s.size = (w, h);
            s.dirty = true;
            Vec::new()
        }
        Msg::Tick(now) => {
            let second_changed = now != s.now;
            s.now = now;
            if s.status
                .as_ref()
                .is_some_and(|st| now - st.at > STATUS_SECS)
            {
                s.status = None;
                s.dirty = true;
            }
            // Ages and elapsed times on screen move with the clock (the
            // Resources tree and the IP map show none: no need to rebuild them).
            if second_changed && !matches!(s.pane, PaneId::Resources | PaneId::IpMap) {
                s.rebuild(s.pane);
            }
            Vec::new()
        }
        Msg::Inventory(r, at) => {
            match r {
                Ok(read) => {
                    s.world.inventory.set(read.inventory, at);
                    // The engine hands the same list back while nothing changed.
                    if !s
                        .world
                        .meta_from
                        .as_ref()
                        .is_some_and(|m| std::sync::Arc::ptr_eq(m, &read.meta))
                    {
                        s.world.meta = read
                            .meta
                            .iter()
                            .filter_map(|m| m.resource_id.parse().ok().map(|v| (v, m.clone())))
                            .collect();
                        s.world.meta_from = Some(read.meta.clone());
                    }
                    s.world.ip.set(read.ip, at);
                }
                Err(e) => s.world.inventory.failed(e),
            }
            s.rebuild_shown();
            Vec::new()
        }
        Msg::Snapshots(r, at) => {
            s.world.snapshots.apply(r, at);
            s.rebuild(PaneId::Snapshots);
            Vec::new()
        }
        Msg::Backups(r, at) => {
            s.world.backups.apply(r, at);
            s.rebuild(PaneId::Backups);
            Vec::new()
        }
        Msg::Tasks(r, at) => {
            s.world.tasks.apply(r, at);
            s.rebuild(PaneId::Tasks);
            Vec::new()
        }
        Msg::Actions(r, at) => {
            match r {
                Ok(d) => {
                    // Live figures of finished actions are no longer needed.
                    s.world.live.retain(|(id, _), _| {
                        d.iter()
                            .any(|a| &a.record.id == id && a.record.state == ActionState::Running)
                    });
                    s.world.actions.set(d, at);
                }
                Err(e) => s.world.actions.failed(e),
            }
            for p in [PaneId::Replication, PaneId::Approvals, PaneId::Tasks] {
                s.rebuild(p);
            }
            follow_action_logs(s);
            Vec::new()
        }
        Msg::Engine(ev) => engine_event(s, ev),
        Msg::Planned(r) => {
            s.busy = None;
            match r {
                Ok(record) => s.dialogs.push(Dialog::Confirm(Box::new(Confirm {
                    kind: ConfirmKind::Submit {
                        record: Box::new(record),
                    },
                    scroll: 0,
                    reason: None,
                    reason_focus: false,
                }))),
                Err(e) => error_dialog(s, "Not planned", e),
            }
            s.dirty = true;
            Vec::new()
        }
        Msg::Submitted(r) => {
            s.busy = None;
            match r {
                Ok(rec) => {
                    // Listed at once (the next read of the queue replaces it), so
                    // the keys that act on it work before that read arrives.
                    remember(s, &rec);
                    let what = rec.action.describe();
                    if rec.state == ActionState::PendingApproval {
                        go_to(s, PaneId::Approvals, Some(&rec.id));
                        s.say(
                            format!(
                                "{what}: waits for approval ({}) · a approves · x rejects",
                                rec.policy_rule.clone().unwrap_or_default()
                            ),
                            Role::Warn,
                        );
                    } else {
                        let pane = if replication::is_copy_action(&rec.action) {
                            PaneId::Replication
                        } else {
                            PaneId::Tasks
                        };
                        let key = if pane == PaneId::Tasks {
                            crate::tui::panes::tasks::action_key(&rec.id)
                        } else {
                            rec.id.clone()
                        };
                        go_to(s, pane, Some(&key));
                        s.say(format!("{what}: queued to run now"), Role::Ok);
                    }
                    vec![Effect::Refresh]
                }
                Err(e) => {
                    error_dialog(s, "Not queued", e);
                    Vec::new()
                }
            }
        }
        Msg::Approved(r) => {
            s.busy = None;
            match r {
                Ok(rec) => {
                    remember(s, &rec);
                    let copy = replication::is_copy_action(&rec.action);
                    let (pane, key) = if copy {
                        (PaneId::Replication, rec.id.clone())
                    } else {
                        (PaneId::Tasks, crate::tui::panes::tasks::action_key(&rec.id))
                    };
                    go_to(s, pane, Some(&key));
                    s.say(
                        format!("approved: {} (runs now)", rec.action.describe()),
                        Role::Ok,
                    );
                    vec![Effect::Refresh]
                }
                Err(e) => {
                    error_dialog(s, "Not approved", e);
                    Vec::new()
                }
            }
        }
        Msg::Decided(r) => {
            s.busy = None;
            match r {
                Ok(text) => {
                    s.say(text, Role::Ok);
                    vec![Effect::Refresh]
                }
                Err(e) => {
                    error_dialog(s, "Refused", e);
                    Vec::new()
                }
            }
        }
        Msg::LogLines {
            source,
            lines,
            finished,
            error,
        } => {
            if let Some(Dialog::Log(v)) = s
                .dialogs
                .iter_mut()
                .rev()
                .find(|d| matches!(d, Dialog::Log(v) if v.source == source))
            {
                match &source {
                    // Action logs arrive whole (the journal is re-read).
                    LogSource::Action { .. } => v.lines = lines,
                    LogSource::Task { .. } => v.lines.extend(lines),
                }
                v.finished = finished;
                v.error = error;
                s.dirty = true;
            }
            Vec::new()
        }
    }
}

/// Put (or update) an action the engine just answered with into the list.
pub(super) fn remember(s: &mut State, rec: &crate::engine::ActionRecord) {
    let list = &mut s.world.actions.data;
    match list.iter_mut().find(|a| a.record.id == rec.id) {
        Some(a) => a.record = rec.clone(),
        None => list.insert(
            0,
            crate::engine::ActionOverview {
                record: rec.clone(),
                steps: Vec::new(),
                targets: Vec::new(),
                log_tail: Vec::new(),
            },
        ),
    }
    for p in [PaneId::Replication, PaneId::Approvals, PaneId::Tasks] {
        s.rebuild(p);
    }
}

pub(super) fn error_dialog(s: &mut State, title: &str, error: ConsoleError) {
    s.dialogs.push(Dialog::Message {
        title: title.to_string(),
        text: error.to_string(),
        role: Role::Error,
    });
    s.dirty = true;
}
