//! The help: every key of the keymap by where it works, the command line's
//! words, and how changes happen; generated, so it cannot drift from the keys.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{frame_for, hint_line, scrolled};
use crate::tui::cmdline::{COMMANDS, action_usages};
use crate::tui::keymap::DialogKind;
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::Effect;
use crate::tui::state::{Dialog, State};
use crate::tui::theme::Role;
use crate::tui::widgets::block;

/// The help's lines (its length bounds scrolling).
fn lines<'a>(s: &State) -> Vec<Line<'a>> {
    let th = &s.theme;
    let mut lines = Vec::new();
    for (section, entries) in s.keymap.help() {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(section, th.style(Role::Title)));
        for (keys, what, mutates) in entries {
            let disabled = mutates && s.read_only.is_some();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {keys:<18}"),
                    th.style(if disabled { Role::Muted } else { Role::Key }),
                ),
                Span::styled(
                    format!("{what}{}", if disabled { "  (read-only)" } else { "" }),
                    th.style(if disabled { Role::Muted } else { Role::Text }),
                ),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("command line (:)", th.style(Role::Title)));
    for (_, usage) in COMMANDS {
        lines.push(Line::styled(format!("  {usage}"), th.style(Role::Text)));
    }
    for usage in action_usages() {
        lines.push(Line::styled(format!("  {usage}"), th.style(Role::Text)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("how changes happen", th.style(Role::Title)));
    for t in [
        "A key proposes; proxdeck plans it (names, VMIDs, IPs, MACs reserved) and shows the plan.",
        "y confirms that exact plan. Policy then runs it, or queues it in Approvals (a approves).",
        "Progress shows in Replication and Tasks; enter opens the live log.",
    ] {
        lines.push(Line::styled(format!("  {t}"), th.style(Role::Muted)));
    }
    lines
}

pub(super) fn draw(f: &mut Frame<'_>, s: &State, scroll: u16) {
    let th = &s.theme;
    let lines = lines(s);
    let area = f.area();
    let r = frame_for(
        f,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    let b = block(Line::from(" Help "), th, true);
    let inner = b.inner(r);
    let body = ratatui::layout::Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let total = lines.len();
    f.render_widget(b, r);
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), body);
    let below = total.saturating_sub(usize::from(scroll) + usize::from(body.height));
    let mut hints = hint_line(s, DialogKind::Help, |c| Some(c.label()));
    if below > 0 {
        hints.spans.push(Span::styled(
            format!("↓ {below} more"),
            th.style(Role::Muted),
        ));
    }
    f.render_widget(
        Paragraph::new(hints),
        ratatui::layout::Rect {
            y: inner.y + inner.height.saturating_sub(1),
            height: 1,
            ..inner
        },
    );
}

pub(super) fn key(s: &mut State, scroll: u16, spec: KeySpec) -> Vec<Effect> {
    let cmd = s.keymap.lookup_dialog(spec, DialogKind::Help);
    if cmd == Some(crate::tui::keymap::Cmd::CloseView) {
        return Vec::new();
    }
    // Scrolling stops at the end (the help's length, less a screen).
    let total = lines(s).len() as u16;
    let page = s.size.1.saturating_sub(5);
    let end = total.saturating_sub(page);
    let scroll = match cmd {
        Some(crate::tui::keymap::Cmd::Bottom) => end,
        other => scrolled(scroll, other).min(end),
    };
    s.dialogs.push(Dialog::Help { scroll });
    Vec::new()
}
