//! A log followed live: a Proxmox task's or one of proxdeck's actions'.

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{frame_for, hint_line};
use crate::tui::keymap::{Cmd, DialogKind};
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::Effect;
use crate::tui::state::{Dialog, LogView, State};
use crate::tui::theme::Role;
use crate::tui::widgets::block;

pub(super) fn draw(f: &mut Frame<'_>, s: &State, v: &LogView) {
    let th = &s.theme;
    let area = f.area();
    let r = frame_for(
        f,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let state = if v.finished {
        "finished"
    } else if v.follow {
        "following"
    } else {
        "paused"
    };
    let b = block(Line::from(format!(" {} · {state} ", v.title)), th, true)
        .title_bottom(hint_line(s, DialogKind::Log, |c| Some(c.label())));
    let inner = b.inner(r);
    f.render_widget(b, r);
    let h = usize::from(inner.height);
    let top = if v.follow {
        v.lines.len().saturating_sub(h)
    } else {
        v.scroll.min(v.lines.len().saturating_sub(1))
    };
    let mut lines: Vec<Line> = v
        .lines
        .iter()
        .skip(top)
        .take(h)
        .map(|l| {
            let role =
                if l.starts_with("TASK ERROR") || l.starts_with("error") || l.contains(" failed") {
                    Role::Error
                } else if l.starts_with("TASK OK") {
                    Role::Ok
                } else if l.starts_with("WARN") {
                    Role::Warn
                } else {
                    Role::Text
                };
            Line::styled(l.clone(), th.style(role))
        })
        .collect();
    if v.lines.is_empty() {
        lines.push(Line::styled(
            v.error.clone().unwrap_or_else(|| "reading…".into()),
            th.style(if v.error.is_some() {
                Role::Error
            } else {
                Role::Muted
            }),
        ));
    } else if let Some(e) = &v.error {
        lines.push(Line::styled(e.clone(), th.style(Role::Error)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn key(s: &mut State, mut v: LogView, spec: KeySpec) -> Vec<Effect> {
    let page = (s.size.1 as usize).saturating_sub(6).max(1);
    let max = v.lines.len().saturating_sub(1);
    let top = if v.follow {
        v.lines.len().saturating_sub(page)
    } else {
        v.scroll
    };
    match s.keymap.lookup_dialog(spec, DialogKind::Log) {
        Some(Cmd::CloseView) => return vec![Effect::CloseLog],
        Some(Cmd::Follow) | Some(Cmd::Bottom) => v.follow = true,
        Some(Cmd::Top) => {
            v.follow = false;
            v.scroll = 0;
        }
        Some(Cmd::Up) => {
            v.follow = false;
            v.scroll = top.saturating_sub(1);
        }
        Some(Cmd::Down) => {
            v.scroll = (top + 1).min(max);
            v.follow = v.scroll + page >= v.lines.len();
        }
        Some(Cmd::PageUp) => {
            v.follow = false;
            v.scroll = top.saturating_sub(page);
        }
        Some(Cmd::PageDown) => {
            v.scroll = (top + page).min(max);
            v.follow = v.scroll + page >= v.lines.len();
        }
        _ => {}
    }
    s.dialogs.push(Dialog::Log(v));
    Vec::new()
}
