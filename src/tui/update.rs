//! `update`: the one place the console's state changes. Keys and data come
//! in as messages; work for the loop goes out as effects.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEventKind};
use ratatui_textarea::TextArea;

use super::cmdline::{self, Command};
use super::dialogs_update::dialog_key;
use super::filter::Filter;
use super::intents;
use super::keymap::Cmd;
use super::keyspec::KeySpec;
use super::msg::{Effect, Msg};
use super::pane::PaneId;
use super::panes::{ipmap, replication, resources};
use super::state::{Confirm, ConfirmKind, Dialog, LogSource, LogView, Mode, State};
use super::theme::{Role, Theme};
use super::world::LiveProgress;
use crate::engine::{ActionState, EngineEvent};

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
                    s.world.meta = read
                        .meta
                        .into_iter()
                        .filter_map(|m| m.resource_id.parse().ok().map(|v| (v, m)))
                        .collect();
                    s.world.ip.set(read.ip, at);
                }
                Err(e) => s.world.inventory.failed(e),
            }
            s.rebuild_all();
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
                            super::panes::tasks::action_key(&rec.id)
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
                        (PaneId::Tasks, super::panes::tasks::action_key(&rec.id))
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
fn remember(s: &mut State, rec: &crate::engine::ActionRecord) {
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

fn error_dialog(s: &mut State, title: &str, text: String) {
    s.dialogs.push(Dialog::Message {
        title: title.to_string(),
        text,
        role: Role::Error,
    });
    s.dirty = true;
}

/// Switch pane and select a row by key.
pub fn go_to(s: &mut State, pane: PaneId, key: Option<&str>) {
    s.pane = pane;
    s.rebuild(pane);
    if let Some(k) = key {
        let (list, table) = s.list_and_table(pane);
        if !list.select(table, k) {
            // Not listed yet (data arrives with the next read): select it then.
            list.want = Some(k.to_string());
        }
    }
    s.dirty = true;
}

/// Keep open action logs in step with the journal.
fn follow_action_logs(s: &mut State) {
    for d in s.dialogs.iter_mut() {
        if let Dialog::Log(v) = d
            && let LogSource::Action { id } = &v.source
            && let Some(a) = s.world.actions.data.iter().find(|a| &a.record.id == id)
        {
            v.lines = action_log_lines(a);
            v.finished = a.record.state.is_terminal();
        }
    }
}

/// An action's log: its journal steps, then its output.
pub fn action_log_lines(a: &crate::engine::ActionOverview) -> Vec<String> {
    let mut lines: Vec<String> = a
        .steps
        .iter()
        .map(|st| {
            format!(
                "[{:>2}] {:<24} {}{}",
                st.seq,
                st.key,
                st.state.as_str(),
                st.error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !a.log_tail.is_empty() {
        lines.push(String::new());
        lines.extend(a.log_tail.iter().cloned());
    }
    if let Some(e) = &a.record.error {
        lines.push(format!("error: {e}"));
    }
    lines
}

fn engine_event(s: &mut State, ev: EngineEvent) -> Vec<Effect> {
    match ev {
        EngineEvent::Progress {
            id,
            target,
            percent,
            key,
        } => {
            s.world.live.insert(
                (id, target.unwrap_or_default()),
                LiveProgress {
                    percent,
                    step: Some(key),
                },
            );
            s.rebuild(PaneId::Replication);
            Vec::new()
        }
        EngineEvent::StepStarted { id, key, .. } => {
            s.world.current_step.insert(id, key);
            vec![Effect::Refresh]
        }
        EngineEvent::StepFinished { id, .. } => {
            s.world.current_step.remove(&id);
            vec![Effect::Refresh]
        }
        EngineEvent::TaskLine { id, line, .. } => {
            for d in s.dialogs.iter_mut() {
                if let Dialog::Log(v) = d
                    && v.source == (LogSource::Action { id: id.clone() })
                {
                    v.lines.push(line.clone());
                    s.dirty = true;
                }
            }
            Vec::new()
        }
        EngineEvent::ActionChanged { .. } | EngineEvent::Error { .. } => vec![Effect::Refresh],
    }
}

fn key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    s.dirty = true;
    if !s.dialogs.is_empty() {
        return dialog_key(s, k);
    }
    match std::mem::take(&mut s.mode) {
        Mode::Normal => normal_key(s, k),
        Mode::Filter(input) => filter_key(s, input, k),
        Mode::Command {
            input,
            completions,
            chosen,
        } => command_key(s, input, completions, chosen, k),
    }
}

fn normal_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let spec = KeySpec::from_event(&k);
    match s.keymap.lookup(spec, s.pane) {
        Some(cmd) => run(s, cmd),
        None => Vec::new(),
    }
}

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
    }
}

fn open_form(s: &mut State, make: fn(&mut State) -> Option<super::forms::Form>) -> Vec<Effect> {
    if let Some(f) = make(s) {
        s.dialogs.push(Dialog::Form(f));
    }
    Vec::new()
}

fn propose(s: &mut State, make: fn(&mut State) -> Option<Effect>) -> Vec<Effect> {
    match make(s) {
        Some(e) => {
            s.busy = Some("planning…".into());
            vec![e]
        }
        None => Vec::new(),
    }
}

/// The action record a row of Replication, Approvals or Tasks stands for.
fn selected_action(s: &State, states: &[ActionState]) -> Option<crate::engine::ActionRecord> {
    let key = s.selected(s.pane)?;
    let id = key.strip_prefix("action:").unwrap_or(key);
    s.world
        .action(id)
        .filter(|a| states.contains(&a.record.state))
        .map(|a| a.record.clone())
}

fn move_selection(s: &mut State, cmd: Cmd) {
    let pane = s.pane;
    let page = (s.size.1 as isize - 8).max(1);
    let width = if pane == PaneId::IpMap {
        ipmap::GRID_WIDTH as isize
    } else {
        1
    };
    let delta = match cmd {
        Cmd::Up => -width,
        Cmd::Down => width,
        Cmd::PageUp => -page * width,
        Cmd::PageDown => page * width,
        Cmd::Top => isize::MIN / 2,
        Cmd::Bottom => isize::MAX / 2,
        _ => 0,
    };
    let (list, table) = s.list_and_table(pane);
    list.step(table, delta);
}

fn left_right(s: &mut State, right: bool) {
    let pane = s.pane;
    if pane == PaneId::IpMap {
        let (list, table) = s.list_and_table(pane);
        list.step(table, if right { 1 } else { -1 });
        return;
    }
    if pane != PaneId::Resources {
        return;
    }
    let Some(key) = s.selected(pane).map(str::to_string) else {
        return;
    };
    if key.starts_with("node:") {
        if right {
            s.collapsed.remove(&key);
        } else {
            s.collapsed.insert(key);
        }
        s.rebuild(pane);
    } else if !right && let Some(vmid) = resources::vmid_of(&key) {
        // Left on a guest goes to its node.
        if let Some(node) = s
            .world
            .inv()
            .guest(vmid)
            .map(|g| resources::node_key(&g.node))
        {
            let (list, table) = s.list_and_table(pane);
            list.select(table, &node);
        }
    }
}

fn open(s: &mut State) -> Vec<Effect> {
    let pane = s.pane;
    let Some(key) = s.selected(pane).map(str::to_string) else {
        return Vec::new();
    };
    if pane == PaneId::Resources && key.starts_with("node:") {
        if !s.collapsed.remove(&key) {
            s.collapsed.insert(key);
        }
        s.rebuild(pane);
        return Vec::new();
    }
    let log = match pane {
        PaneId::Tasks => match key.strip_prefix("task:") {
            Some(upid) => Some((
                LogSource::Task {
                    upid: upid.to_string(),
                },
                format!("task {upid}"),
            )),
            None => key.strip_prefix("action:").map(|id| {
                (
                    LogSource::Action { id: id.to_string() },
                    format!("action {id}"),
                )
            }),
        },
        PaneId::Replication => Some((
            LogSource::Action { id: key.clone() },
            format!("action {key}"),
        )),
        _ => None,
    };
    if let Some((source, title)) = log {
        let mut view = LogView {
            source: source.clone(),
            title,
            lines: Vec::new(),
            follow: true,
            scroll: 0,
            finished: false,
            error: None,
        };
        if let LogSource::Action { id } = &source
            && let Some(a) = s.world.action(id)
        {
            view.lines = action_log_lines(a);
            view.finished = a.record.state.is_terminal();
        }
        s.dialogs.push(Dialog::Log(view));
        return vec![Effect::OpenLog(source)];
    }
    s.dialogs.push(Dialog::Detail { scroll: 0 });
    Vec::new()
}

pub fn set_filter(s: &mut State, pane: PaneId, text: &str) {
    let f = Filter::parse(text);
    if let Some(e) = &f.error {
        s.say(format!("regex: {e}"), Role::Error);
    }
    s.filters.insert(pane, f);
    s.rebuild(pane);
}

fn filter_key(s: &mut State, mut input: TextArea<'static>, k: KeyEvent) -> Vec<Effect> {
    let pane = s.pane;
    match k.code {
        KeyCode::Esc => {
            set_filter(s, pane, "");
        }
        KeyCode::Enter => {
            let text = input.lines().join("");
            set_filter(s, pane, &text);
            // Jump to the first match below the tree's roots.
            let (list, table) = s.list_and_table(pane);
            let deepest = table.rows.iter().map(|r| r.depth).max().unwrap_or(0);
            let first = table
                .rows
                .iter()
                .find(|r| r.depth == deepest)
                .map(|r| r.key.clone());
            if !text.is_empty()
                && let Some(k) = first
            {
                list.select(table, &k);
            }
        }
        _ => {
            input.input(k);
            let text = input.lines().join("");
            set_filter(s, pane, &text);
            s.mode = Mode::Filter(input);
        }
    }
    Vec::new()
}

fn command_key(
    s: &mut State,
    mut input: TextArea<'static>,
    mut completions: Vec<String>,
    mut chosen: Option<usize>,
    k: KeyEvent,
) -> Vec<Effect> {
    match k.code {
        KeyCode::Esc => Vec::new(),
        KeyCode::Enter => {
            let line = input.lines().join("");
            run_command_line(s, &line)
        }
        KeyCode::Tab | KeyCode::BackTab => {
            let line = input.lines().join("");
            if chosen.is_none() || completions.is_empty() {
                completions = cmdline::complete(s, &line);
            }
            if completions.is_empty() {
                s.mode = Mode::Command {
                    input,
                    completions,
                    chosen: None,
                };
                return Vec::new();
            }
            let common = cmdline::common_prefix(&completions);
            let partial = if line.ends_with(' ') {
                ""
            } else {
                line.rsplit(' ').next().unwrap_or("")
            };
            if completions.len() > 1 && chosen.is_none() && common.len() > partial.len() {
                let base = &line[..line.len() - partial.len()];
                input = TextArea::new(vec![format!("{base}{common}")]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                s.mode = Mode::Command {
                    input,
                    completions,
                    chosen: None,
                };
                return Vec::new();
            }
            if completions.len() == 1 {
                let new = cmdline::apply_completion(&line, &completions[0]);
                input = TextArea::new(vec![new]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                s.mode = Mode::Command {
                    input,
                    completions: Vec::new(),
                    chosen: None,
                };
                return Vec::new();
            }
            let n = completions.len();
            chosen = Some(match (chosen, k.code) {
                (None, KeyCode::BackTab) => n - 1,
                (None, _) => 0,
                (Some(i), KeyCode::BackTab) => (i + n - 1) % n,
                (Some(i), _) => (i + 1) % n,
            });
            s.mode = Mode::Command {
                input,
                completions,
                chosen,
            };
            Vec::new()
        }
        _ => {
            // Typing after choosing a completion takes it.
            if let Some(i) = chosen
                && let Some(word) = completions.get(i)
            {
                let line = input.lines().join("");
                let new = cmdline::apply_completion(&line, word);
                input = TextArea::new(vec![new]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                if k.code == KeyCode::Char(' ') {
                    s.mode = Mode::Command {
                        input,
                        completions: Vec::new(),
                        chosen: None,
                    };
                    return Vec::new();
                }
            }
            if k.code == KeyCode::Backspace && input.lines().join("").is_empty() {
                return Vec::new();
            }
            input.input(k);
            let line = input.lines().join("");
            let completions = if line.is_empty() {
                Vec::new()
            } else {
                cmdline::complete(s, &line)
            };
            s.mode = Mode::Command {
                input,
                completions,
                chosen: None,
            };
            Vec::new()
        }
    }
}

pub fn run_command_line(s: &mut State, line: &str) -> Vec<Effect> {
    let cmd = match cmdline::parse(s, line.trim()) {
        Ok(c) => c,
        Err(e) => {
            s.say(e, Role::Error);
            return Vec::new();
        }
    };
    let mutating = matches!(
        cmd,
        Command::Propose { .. } | Command::Approve(_) | Command::Reject { .. } | Command::Cancel(_)
    );
    if mutating && let Some(why) = s.read_only.clone() {
        s.say(format!("disabled: {why}"), Role::Warn);
        return Vec::new();
    }
    match cmd {
        Command::Quit { force: true } => {
            s.quit = true;
            vec![Effect::Quit]
        }
        Command::Quit { force: false } => run(s, Cmd::Quit),
        Command::Help => run(s, Cmd::Help),
        Command::Refresh => run(s, Cmd::Refresh),
        Command::Pane(p) => {
            go_to(s, p, None);
            Vec::new()
        }
        Command::IpMap(node) => {
            if let Some(n) = node {
                match s.config.naming.node(&n) {
                    Some(e) if s.config.naming.subnets.contains_key(&e.name) => {
                        s.ip.node = Some(e.name.clone());
                        s.lists.remove(&PaneId::IpMap);
                    }
                    _ => {
                        s.say(
                            format!("no subnet for node '{n}' in naming-conventions.yml"),
                            Role::Error,
                        );
                        return Vec::new();
                    }
                }
            }
            go_to(s, PaneId::IpMap, None);
            Vec::new()
        }
        Command::Propose { action, reason } => {
            s.busy = Some("planning…".into());
            vec![Effect::Propose { action, reason }]
        }
        Command::Approve(id) => {
            match s
                .world
                .action(&id)
                .filter(|a| a.record.state == ActionState::PendingApproval)
            {
                Some(a) => {
                    let rec = a.record.clone();
                    s.dialogs.push(Dialog::Confirm(Box::new(Confirm {
                        kind: ConfirmKind::Approve {
                            record: Box::new(rec),
                        },
                        scroll: 0,
                        reason: Some(TextArea::default()),
                        reason_focus: false,
                    })));
                }
                None => s.say(format!("no pending action '{id}'"), Role::Error),
            }
            Vec::new()
        }
        Command::Reject { id, why } => vec![Effect::Reject { id, why }],
        Command::Cancel(id) => vec![Effect::Cancel { id }],
        Command::Filter(text) => {
            let pane = s.pane;
            set_filter(s, pane, &text);
            Vec::new()
        }
        Command::Theme(name) => {
            match Theme::load(&name, &s.config.dir) {
                Ok(t) => {
                    let colour = s.theme.colour;
                    s.theme = if colour { t } else { t.without_colour() };
                    s.say(format!("theme {name}"), Role::Ok);
                }
                Err(e) => s.say(e, Role::Error),
            }
            Vec::new()
        }
    }
}

fn mouse(s: &mut State, m: crossterm::event::MouseEvent) -> Vec<Effect> {
    if !s.mouse {
        return Vec::new();
    }
    match m.kind {
        MouseEventKind::ScrollDown => run(s, Cmd::Down),
        MouseEventKind::ScrollUp => run(s, Cmd::Up),
        MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
            if !s.dialogs.is_empty() {
                return Vec::new();
            }
            let layout = super::view::layout(s.size, s);
            if m.row == layout.tabs.y {
                if let Some(p) = super::view::tab_at(s, m.column) {
                    go_to(s, p, None);
                }
            } else if let Some(row) = super::view::row_at(s, &layout, m.column, m.row) {
                let pane = s.pane;
                let (list, table) = s.list_and_table(pane);
                if let Some(key) = table.rows.get(row).map(|r| r.key.clone()) {
                    list.select(table, &key);
                }
            }
            s.dirty = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}
