//! Forms: the fields an action needs (node, name, address...), each checked
//! as it is typed; enter plans what the form says.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{frame_for, hint_line};
use crate::tui::forms::{Form, FormPurpose, Input, validate};
use crate::tui::intents;
use crate::tui::keymap::{Cmd, DialogKind};
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::Effect;
use crate::tui::state::{Dialog, State};
use crate::tui::theme::Role;
use crate::tui::widgets::block;

/// What enter does with this form.
fn submit_label(form: &Form) -> &'static str {
    match form.purpose {
        FormPurpose::Reject { .. } => "reject",
        _ => "plan it",
    }
}

pub(super) fn draw(f: &mut Frame<'_>, s: &State, form: &Form) {
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
            Paragraph::new(hint_line(s, DialogKind::Form, |cmd| match cmd {
                Cmd::SubmitForm => Some(submit_label(form).into()),
                other => Some(other.label()),
            })),
            bottom,
        ),
    }
}

pub(super) fn key(s: &mut State, mut f: Form, k: KeyEvent, spec: KeySpec) -> Vec<Effect> {
    let n = f.fields.len().max(1);
    match s.keymap.lookup_dialog(spec, DialogKind::Form) {
        Some(Cmd::CancelForm) => return Vec::new(),
        Some(Cmd::SubmitForm) => {
            let problems = f.problems(&s.world, &s.config);
            if let Some((i, e)) = problems.first() {
                f.error = Some(format!("{}: {e}", f.fields[*i].label));
                f.focus = *i;
                s.dialogs.push(Dialog::Form(f));
                return Vec::new();
            }
            let fx = intents::submit_form(&f);
            if matches!(fx, Effect::Propose { .. }) {
                s.busy = Some("planning…".into());
            }
            return vec![fx];
        }
        Some(Cmd::NextField) => f.focus = (f.focus + 1) % n,
        Some(Cmd::PrevField) => f.focus = (f.focus + n - 1) % n,
        _ => {
            if let Some(field) = f.fields.get_mut(f.focus) {
                edit(&mut field.input, k);
            }
            f.error = None;
        }
    }
    s.dialogs.push(Dialog::Form(f));
    Vec::new()
}

/// A key typed into a field.
fn edit(input: &mut Input, k: KeyEvent) {
    match input {
        Input::Text(t) => {
            t.input(k);
        }
        Input::Choice { options, selected } => {
            let n = options.len().max(1);
            match k.code {
                KeyCode::Left | KeyCode::Char('h') => *selected = (*selected + n - 1) % n,
                KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                    *selected = (*selected + 1) % n
                }
                _ => {}
            }
        }
        Input::Toggle(b) => match k.code {
            KeyCode::Char('y') => *b = true,
            KeyCode::Char('n') => *b = false,
            KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => *b = !*b,
            _ => {}
        },
    }
}
