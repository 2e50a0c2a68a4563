//! Keys in normal mode: looked up in the keymap, moving the selection, opening rows.

use super::*;

pub(super) fn key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
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

pub(super) fn normal_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let spec = KeySpec::from_event(&k);
    match s.keymap.lookup(spec, s.pane) {
        Some(cmd) => run(s, cmd),
        None => Vec::new(),
    }
}

pub(super) fn move_selection(s: &mut State, cmd: Cmd) {
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

pub(super) fn left_right(s: &mut State, right: bool) {
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

pub(super) fn open(s: &mut State) -> Vec<Effect> {
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
