//! Confirmations: the exact plan the engine made (queue it, approve it), or
//! a question (cancel an action, quit while actions run here); `y` or `n`,
//! and for approvals an optional reason.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{frame_for, hint_line, scrolled};
use crate::tui::keymap::{Cmd, DialogKind};
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::Effect;
use crate::tui::panes::approvals;
use crate::tui::state::{Confirm, ConfirmKind, Dialog, State};
use crate::tui::theme::Role;
use crate::tui::widgets::{block, spans};

/// What `y` and `n` mean in this confirmation.
fn labels(c: &Confirm) -> (&'static str, &'static str) {
    match &c.kind {
        ConfirmKind::Submit { .. } => ("confirm this plan", "drop it"),
        ConfirmKind::Approve { .. } => ("approve", "back"),
        ConfirmKind::Cancel { .. } => ("cancel it", "keep it"),
        ConfirmKind::Quit { .. } => ("quit", "stay"),
    }
}

pub(super) fn draw(f: &mut Frame<'_>, s: &State, c: &Confirm) {
    let th = &s.theme;
    let area = f.area();
    let (title, body): (String, Vec<Line>) = match &c.kind {
        ConfirmKind::Submit { record } => {
            let d = approvals::plan_detail(record, s.now);
            let next = match record.policy_rule.as_deref() {
                Some(crate::engine::decide::NO_APPROVAL) | None => Line::styled(
                    "Confirming queues this plan to run now.",
                    th.style(Role::Ok),
                ),
                Some(rule) => Line::styled(
                    format!("Confirming queues this plan; it then waits for approval ({rule})."),
                    th.style(Role::Warn),
                ),
            };
            let mut lines = vec![next, Line::raw("")];
            lines.extend(d.lines.iter().map(|l| spans(l, th)));
            (format!(" Confirm: {} ", record.action.describe()), lines)
        }
        ConfirmKind::Approve { record } => {
            let d = approvals::plan_detail(record, s.now);
            let mut lines = vec![
                Line::styled("Approving runs exactly this plan.", th.style(Role::Warn)),
                Line::raw(""),
            ];
            lines.extend(d.lines.iter().map(|l| spans(l, th)));
            (format!(" Approve: {} ", record.action.describe()), lines)
        }
        ConfirmKind::Cancel { id, summary } => (
            " Cancel ".into(),
            vec![
                Line::raw(format!("Cancel {summary}?")),
                Line::styled(id.clone(), th.style(Role::Muted)),
                Line::raw(""),
                Line::raw("A running action stops after its current step and undoes what it made."),
            ],
        ),
        ConfirmKind::Quit { running } => (
            " Quit ".into(),
            vec![
                Line::raw(format!("{running} action(s) run in this console.")),
                Line::raw("They stop now and resume where they were when proxdeck runs"),
                Line::raw("again (here or `proxdeck run`), once their lease runs out."),
            ],
        ),
    };
    let w = (area.width.saturating_sub(4)).min(110);
    let extra = if c.reason.is_some() { 3 } else { 0 };
    // Lines that wrap take more than one row.
    let inner_w = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = body
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_w))
        .sum();
    let h = (rows as u16 + 4 + extra)
        .min(area.height.saturating_sub(2))
        .max(6);
    let r = frame_for(f, w, h);
    let b = block(Line::from(title), th, true);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let body_h = inner.height.saturating_sub(1 + extra);
    f.render_widget(
        Paragraph::new(body)
            .wrap(Wrap { trim: false })
            .scroll((c.scroll, 0))
            .style(th.style(Role::Text)),
        Rect::new(inner.x, inner.y, inner.width, body_h),
    );
    if let Some(reason) = &c.reason {
        let rr = Rect::new(inner.x, inner.y + body_h, inner.width, 3);
        let mut ta = reason.clone();
        ta.set_block(block(
            Line::from(if c.reason_focus {
                " reason (enter approves, tab leaves) "
            } else {
                " reason (optional, tab to type) "
            }),
            th,
            c.reason_focus,
        ));
        ta.set_cursor_line_style(th.style(Role::Text));
        if !c.reason_focus {
            ta.set_cursor_style(th.style(Role::Text));
        }
        f.render_widget(&ta, rr);
    }
    let (yes, no) = labels(c);
    let hints = hint_line(s, DialogKind::Confirm, |cmd| match cmd {
        // While the reason has the keyboard, letters type and only enter and tab act.
        Cmd::Confirm if c.reason_focus => None,
        Cmd::Decline if c.reason_focus => None,
        Cmd::Down if c.reason_focus => None,
        Cmd::Reason if c.reason_focus => Some("back to the plan".into()),
        Cmd::Reason if c.reason.is_none() => None,
        Cmd::Confirm => Some(yes.into()),
        Cmd::Decline => Some(no.into()),
        other => Some(other.label()),
    });
    let hints = if c.reason_focus {
        let mut l = hints;
        l.spans.insert(
            0,
            ratatui::text::Span::styled(format!("{yes}  "), th.style(Role::Text)),
        );
        l.spans.insert(
            0,
            ratatui::text::Span::styled(" enter ", th.style(Role::Key)),
        );
        l
    } else {
        hints
    };
    f.render_widget(
        Paragraph::new(hints),
        Rect::new(
            inner.x,
            inner.y + inner.height.saturating_sub(1),
            inner.width,
            1,
        ),
    );
}

fn reason_text(r: &Option<ratatui_textarea::TextArea<'static>>) -> Option<String> {
    r.as_ref()
        .map(|t| t.lines().join(" ").trim().to_string())
        .filter(|t| !t.is_empty())
}

pub(super) fn key(s: &mut State, mut c: Box<Confirm>, k: KeyEvent, spec: KeySpec) -> Vec<Effect> {
    if c.reason_focus {
        match s.keymap.lookup_dialog(spec, DialogKind::Confirm) {
            Some(Cmd::Reason) => c.reason_focus = false,
            _ if k.code == KeyCode::Esc => c.reason_focus = false,
            _ if k.code == KeyCode::Enter => return confirmed(s, c.kind, reason_text(&c.reason)),
            _ => {
                if let Some(r) = c.reason.as_mut() {
                    r.input(k);
                }
            }
        }
        s.dialogs.push(Dialog::Confirm(c));
        return Vec::new();
    }
    match s.keymap.lookup_dialog(spec, DialogKind::Confirm) {
        Some(Cmd::Confirm) => {
            let reason = reason_text(&c.reason);
            confirmed(s, c.kind, reason)
        }
        Some(Cmd::Decline) => match c.kind {
            ConfirmKind::Submit { record } => {
                s.say(
                    format!("dropped: {}", record.action.describe()),
                    Role::Muted,
                );
                vec![Effect::Discard { id: record.id }]
            }
            _ => Vec::new(),
        },
        Some(Cmd::Reason) if c.reason.is_some() => {
            c.reason_focus = true;
            s.dialogs.push(Dialog::Confirm(c));
            Vec::new()
        }
        other => {
            c.scroll = scrolled(c.scroll, other);
            s.dialogs.push(Dialog::Confirm(c));
            Vec::new()
        }
    }
}

/// What confirming does.
fn confirmed(s: &mut State, kind: ConfirmKind, reason: Option<String>) -> Vec<Effect> {
    match kind {
        ConfirmKind::Submit { record } => {
            s.busy = Some("queueing…".into());
            vec![Effect::Submit {
                id: record.id.clone(),
                hash: record.plan_hash.clone().unwrap_or_default(),
            }]
        }
        ConfirmKind::Approve { record } => {
            s.busy = Some("approving…".into());
            vec![Effect::Approve {
                id: record.id.clone(),
                hash: record.plan_hash.clone().unwrap_or_default(),
                reason,
            }]
        }
        ConfirmKind::Cancel { id, .. } => vec![Effect::Cancel { id }],
        ConfirmKind::Quit { .. } => {
            s.quit = true;
            vec![Effect::Quit]
        }
    }
}
