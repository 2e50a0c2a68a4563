//! Drawing dialogs: confirmations carrying the exact plan, forms with live
//! validation, help generated from the keymap, logs, details and messages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::cmdline::{COMMANDS, action_usages};
use super::forms::{Form, Input, validate};
use super::panes::{self, approvals};
use super::state::{Confirm, ConfirmKind, Dialog, LogView, State};
use super::theme::Role;
use super::view::ctx;
use super::widgets::{block, spans};

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

pub fn render(f: &mut Frame<'_>, s: &State) {
    for d in &s.dialogs {
        match d {
            Dialog::Confirm(c) => confirm(f, s, c),
            Dialog::Form(form) => form_dialog(f, s, form),
            Dialog::Help { scroll } => help(f, s, *scroll),
            Dialog::Log(v) => log(f, s, v),
            Dialog::Detail { scroll } => detail(f, s, *scroll),
            Dialog::Message { title, text, role } => message(f, s, title, text, *role),
        }
    }
}

fn frame_for(f: &mut Frame<'_>, w: u16, h: u16) -> Rect {
    let area = f.area();
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    r
}

fn buttons<'a>(s: &State, items: &[(&str, &str)]) -> Line<'a> {
    let th = &s.theme;
    let mut out = Vec::new();
    for (k, label) in items {
        out.push(Span::styled(format!(" {k} "), th.style(Role::Key)));
        out.push(Span::styled(format!("{label}  "), th.style(Role::Text)));
    }
    Line::from(out)
}

fn confirm(f: &mut Frame<'_>, s: &State, c: &Confirm) {
    let th = &s.theme;
    let area = f.area();
    let (title, body, actions): (String, Vec<Line>, Vec<(&str, &str)>) = match &c.kind {
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
            (
                format!(" Confirm: {} ", record.action.describe()),
                lines,
                vec![
                    ("y", "confirm this plan"),
                    ("n", "drop it"),
                    ("↑↓", "scroll"),
                ],
            )
        }
        ConfirmKind::Approve { record } => {
            let d = approvals::plan_detail(record, s.now);
            let mut lines = vec![
                Line::styled("Approving runs exactly this plan.", th.style(Role::Warn)),
                Line::raw(""),
            ];
            lines.extend(d.lines.iter().map(|l| spans(l, th)));
            (
                format!(" Approve: {} ", record.action.describe()),
                lines,
                vec![("y", "approve"), ("n", "back"), ("tab", "reason")],
            )
        }
        ConfirmKind::Cancel { id, summary } => (
            " Cancel ".into(),
            vec![
                Line::raw(format!("Cancel {summary}?")),
                Line::styled(id.clone(), th.style(Role::Muted)),
                Line::raw(""),
                Line::raw("A running action stops after its current step and undoes what it made."),
            ],
            vec![("y", "cancel it"), ("n", "keep it")],
        ),
        ConfirmKind::Quit { running } => (
            " Quit ".into(),
            vec![
                Line::raw(format!("{running} action(s) run in this console.")),
                Line::raw("They stop now and resume where they were when proxdeck runs"),
                Line::raw("again (here or `proxdeck run`), once their lease runs out."),
            ],
            vec![("y", "quit"), ("n", "stay")],
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
    f.render_widget(
        Paragraph::new(buttons(s, &actions)),
        Rect::new(
            inner.x,
            inner.y + inner.height.saturating_sub(1),
            inner.width,
            1,
        ),
    );
}

fn form_dialog(f: &mut Frame<'_>, s: &State, form: &Form) {
    let th = &s.theme;
    let w = f.area().width.saturating_sub(4).min(76);
    let h = (form.fields.len() as u16 * 3 + 5).min(f.area().height);
    let r = frame_for(f, w, h);
    let b = block(Line::from(format!(" {} ", form.title)), th, true);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let label_w = 12u16;
    for (i, field) in form.fields.iter().enumerate() {
        let y = inner.y + i as u16 * 3;
        if y + 2 > inner.y + inner.height {
            break;
        }
        let focused = i == form.focus;
        f.render_widget(
            Paragraph::new(Span::styled(
                format!("{:<w$}", field.label, w = usize::from(label_w)),
                th.style(if focused { Role::Accent } else { Role::Text }),
            )),
            Rect::new(inner.x, y, label_w, 1),
        );
        let input_area = Rect::new(inner.x + label_w, y, inner.width.saturating_sub(label_w), 1);
        match &field.input {
            Input::Text(t) => {
                let mut ta = t.clone();
                ta.set_cursor_line_style(th.style(Role::Text));
                ta.set_style(th.style(if focused { Role::Text } else { Role::Muted }));
                if !focused {
                    ta.set_cursor_style(th.style(Role::Muted));
                } else {
                    ta.set_cursor_style(th.style(Role::Selection));
                }
                f.render_widget(&*ta, input_area);
            }
            Input::Choice { options, selected } => {
                let label = options
                    .get(*selected)
                    .map(|(_, l)| l.as_str())
                    .unwrap_or("");
                f.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled("◀ ", th.style(Role::Muted)),
                        Span::styled(
                            label.to_string(),
                            th.style(if focused { Role::Selection } else { Role::Text }),
                        ),
                        Span::styled(
                            format!(" ▶  ({}/{})", selected + 1, options.len()),
                            th.style(Role::Muted),
                        ),
                    ])),
                    input_area,
                );
            }
            Input::Toggle(on) => {
                f.render_widget(
                    Paragraph::new(Span::styled(
                        if *on { "[x] yes" } else { "[ ] no" },
                        th.style(if focused { Role::Selection } else { Role::Text }),
                    )),
                    input_area,
                );
            }
        }
        // Live validation under the field, else its hint.
        let (text, role) = match validate(&field.rule, &field.value(), &s.world, &s.config) {
            Err(e) => (format!("✗ {e}"), Role::Error),
            Ok(()) if matches!(field.input, Input::Text(_)) && !field.value().is_empty() => {
                (format!("✓ {}", field.hint), Role::Ok)
            }
            Ok(()) => (field.hint.clone(), Role::Muted),
        };
        f.render_widget(
            Paragraph::new(Span::styled(text, th.style(role))),
            Rect::new(
                inner.x + label_w,
                y + 1,
                inner.width.saturating_sub(label_w),
                1,
            ),
        );
    }
    let bottom = Rect::new(
        inner.x,
        inner.y + inner.height.saturating_sub(1),
        inner.width,
        1,
    );
    match &form.error {
        Some(e) => f.render_widget(
            Paragraph::new(Span::styled(e.clone(), th.style(Role::Error))),
            bottom,
        ),
        None => f.render_widget(
            Paragraph::new(buttons(
                s,
                &[
                    ("enter", "plan it"),
                    ("tab", "next field"),
                    ("esc", "cancel"),
                ],
            )),
            bottom,
        ),
    }
}

fn help(f: &mut Frame<'_>, s: &State, scroll: u16) {
    let th = &s.theme;
    let mut lines = Vec::new();
    let mut section = String::new();
    for (sec, keys, what) in s.keymap.help() {
        if sec != section {
            if !section.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(sec.clone(), th.style(Role::Title)));
            section = sec;
        }
        let disabled = s.read_only.is_some() && what.ends_with('…')
            || (s.read_only.is_some()
                && [
                    "approve the plan shown",
                    "cancel the action",
                    "roll back to the snapshot",
                    "delete the guest",
                ]
                .contains(&what.as_str()));
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
    let area = f.area();
    let r = frame_for(
        f,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    let b = block(Line::from(" Help · esc closes · ↑↓ scroll "), th, true);
    f.render_widget(Paragraph::new(lines).block(b).scroll((scroll, 0)), r);
}

fn log(f: &mut Frame<'_>, s: &State, v: &LogView) {
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
        "paused · G follows"
    };
    let b = block(
        Line::from(format!(" {} · {state} · esc closes ", v.title)),
        th,
        true,
    );
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

fn detail(f: &mut Frame<'_>, s: &State, scroll: u16) {
    let c = ctx(s);
    let d = s
        .selected(s.pane)
        .and_then(|k| panes::detail(s.pane, &s.world, k, &c));
    let area = f.area();
    let r = frame_for(
        f,
        area.width.saturating_sub(2).min(110),
        area.height.saturating_sub(2),
    );
    super::widgets::detail(f, r, d.as_ref(), &s.theme, scroll);
}

fn message(f: &mut Frame<'_>, s: &State, title: &str, text: &str, role: Role) {
    let th = &s.theme;
    let area = f.area();
    let w = area.width.saturating_sub(4).min(90);
    let lines = text.len() as u16 / w.max(1) + text.lines().count() as u16 + 4;
    let r = frame_for(f, w, lines.min(area.height));
    let b = block(Line::from(format!(" {title} · any key closes ")), th, true);
    f.render_widget(
        Paragraph::new(text.to_string())
            .style(th.style(role))
            .wrap(Wrap { trim: false })
            .block(b),
        r,
    );
}
