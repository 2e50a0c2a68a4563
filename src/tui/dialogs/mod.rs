//! Dialogs, one file each with how it is drawn and what its keys do:
//! confirmations carrying the exact plan, forms with live validation, help
//! generated from the keymap, logs, details and messages. Every hint line
//! comes from the keymap that handles the keys.

mod confirm;
mod detail;
mod form;
mod help;
mod log;
mod message;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::keymap::{Cmd, DialogKind};
use super::keyspec::KeySpec;
use super::msg::Effect;
use super::state::{Dialog, State};
use super::theme::Role;

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

/// Draw every open dialog, the top one last.
pub fn render(f: &mut Frame<'_>, s: &State) {
    for d in &s.dialogs {
        match d {
            Dialog::Confirm(c) => confirm::draw(f, s, c),
            Dialog::Form(form) => form::draw(f, s, form),
            Dialog::Help { scroll } => help::draw(f, s, *scroll),
            Dialog::Log(v) => log::draw(f, s, v),
            Dialog::Detail { scroll } => detail::draw(f, s, *scroll),
            Dialog::Message { title, text, role } => message::draw(f, s, title, text, *role),
        }
    }
}

/// A key while a dialog is open: the top dialog takes it.
pub fn dialog_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let Some(top) = s.dialogs.pop() else {
        return Vec::new();
    };
    let spec = KeySpec::from_event(&k);
    match top {
        Dialog::Confirm(c) => confirm::key(s, c, k, spec),
        Dialog::Form(f) => form::key(s, f, k, spec),
        Dialog::Help { scroll } => help::key(s, scroll, spec),
        Dialog::Detail { scroll } => detail::key(s, scroll, spec),
        Dialog::Log(v) => log::key(s, v, spec),
        Dialog::Message { .. } => Vec::new(),
    }
}

fn frame_for(f: &mut Frame<'_>, w: u16, h: u16) -> Rect {
    let area = f.area();
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    r
}

/// The hint line of a dialog, from the keymap: each hinted command's first
/// key and its label (`label` may rename a command for this dialog, or hide
/// it with None).
fn hint_line<'a>(s: &State, kind: DialogKind, label: impl Fn(Cmd) -> Option<String>) -> Line<'a> {
    let th = &s.theme;
    let mut out = Vec::new();
    for (key, cmd) in s.keymap.dialog_hints(kind) {
        let Some(text) = label(cmd) else { continue };
        let key = match cmd {
            Cmd::Down => "↑↓".to_string(),
            _ => key.to_string(),
        };
        out.push(Span::styled(format!(" {key} "), th.style(Role::Key)));
        out.push(Span::styled(format!("{text}  "), th.style(Role::Text)));
    }
    Line::from(out)
}

/// Scroll by a navigation command.
fn scrolled(current: u16, cmd: Option<Cmd>) -> u16 {
    match cmd {
        Some(Cmd::Down) => current.saturating_add(1),
        Some(Cmd::Up) => current.saturating_sub(1),
        Some(Cmd::PageDown) => current.saturating_add(10),
        Some(Cmd::PageUp) => current.saturating_sub(10),
        Some(Cmd::Top) => 0,
        _ => current,
    }
}
