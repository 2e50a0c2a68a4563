//! Keys while a dialog is open: confirmations, forms, help, logs, details.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::forms::Input;
use super::intents;
use super::msg::Effect;
use super::state::{ConfirmKind, Dialog, State};
use super::theme::Role;

pub fn dialog_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let Some(top) = s.dialogs.pop() else {
        return Vec::new();
    };
    match top {
        Dialog::Confirm(mut c) => {
            if c.reason_focus {
                match k.code {
                    KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab => c.reason_focus = false,
                    KeyCode::Enter => return confirm(s, c.kind, reason_text(&c.reason)),
                    _ => {
                        if let Some(r) = c.reason.as_mut() {
                            r.input(k);
                        }
                    }
                }
                s.dialogs.push(Dialog::Confirm(c));
                return Vec::new();
            }
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    let reason = reason_text(&c.reason);
                    confirm(s, c.kind, reason)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    match c.kind {
                        ConfirmKind::Submit { record } => {
                            s.say(
                                format!("dropped: {}", record.action.describe()),
                                Role::Muted,
                            );
                            vec![Effect::Discard { id: record.id }]
                        }
                        _ => Vec::new(),
                    }
                }
                KeyCode::Tab | KeyCode::BackTab if c.reason.is_some() => {
                    c.reason_focus = true;
                    s.dialogs.push(Dialog::Confirm(c));
                    Vec::new()
                }
                code => {
                    c.scroll = scroll(c.scroll, code);
                    s.dialogs.push(Dialog::Confirm(c));
                    Vec::new()
                }
            }
        }
        Dialog::Form(mut f) => {
            let n = f.fields.len();
            match k.code {
                KeyCode::Esc => return Vec::new(),
                KeyCode::Enter => {
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
                KeyCode::Tab | KeyCode::Down => f.focus = (f.focus + 1) % n.max(1),
                KeyCode::BackTab | KeyCode::Up => f.focus = (f.focus + n.max(1) - 1) % n.max(1),
                _ => {
                    if let Some(field) = f.fields.get_mut(f.focus) {
                        match &mut field.input {
                            Input::Text(t) => {
                                t.input(k);
                            }
                            Input::Choice { options, selected } => match k.code {
                                KeyCode::Left | KeyCode::Char('h') => {
                                    *selected = (*selected + options.len().max(1) - 1)
                                        % options.len().max(1)
                                }
                                KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                                    *selected = (*selected + 1) % options.len().max(1)
                                }
                                _ => {}
                            },
                            Input::Toggle(b) => {
                                if matches!(
                                    k.code,
                                    KeyCode::Char(' ')
                                        | KeyCode::Left
                                        | KeyCode::Right
                                        | KeyCode::Char('y')
                                        | KeyCode::Char('n')
                                ) {
                                    *b = match k.code {
                                        KeyCode::Char('y') => true,
                                        KeyCode::Char('n') => false,
                                        _ => !*b,
                                    };
                                }
                            }
                        }
                    }
                    f.error = None;
                }
            }
            s.dialogs.push(Dialog::Form(f));
            Vec::new()
        }
        Dialog::Help { scroll: sc } => {
            if matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter
            ) {
                return Vec::new();
            }
            s.dialogs.push(Dialog::Help {
                scroll: scroll(sc, k.code),
            });
            Vec::new()
        }
        Dialog::Detail { scroll: sc } => {
            if matches!(k.code, KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter) {
                return Vec::new();
            }
            s.dialogs.push(Dialog::Detail {
                scroll: scroll(sc, k.code),
            });
            Vec::new()
        }
        Dialog::Message { .. } => Vec::new(),
        Dialog::Log(mut v) => {
            let page = (s.size.1 as usize).saturating_sub(6).max(1);
            let max = v.lines.len().saturating_sub(1);
            let top = if v.follow {
                v.lines.len().saturating_sub(page)
            } else {
                v.scroll
            };
            match k.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => {
                    return vec![Effect::CloseLog];
                }
                KeyCode::Char('G') | KeyCode::End => v.follow = true,
                KeyCode::Char('g') | KeyCode::Home => {
                    v.follow = false;
                    v.scroll = 0;
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    v.follow = false;
                    v.scroll = top.saturating_sub(1);
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    v.scroll = (top + 1).min(max);
                    v.follow = v.scroll + page >= v.lines.len();
                }
                KeyCode::PageUp => {
                    v.follow = false;
                    v.scroll = top.saturating_sub(page);
                }
                KeyCode::PageDown => {
                    v.scroll = (top + page).min(max);
                    v.follow = v.scroll + page >= v.lines.len();
                }
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    return vec![Effect::CloseLog];
                }
                _ => {}
            }
            s.dialogs.push(Dialog::Log(v));
            Vec::new()
        }
    }
}

fn reason_text(r: &Option<ratatui_textarea::TextArea<'static>>) -> Option<String> {
    r.as_ref()
        .map(|t| t.lines().join(" ").trim().to_string())
        .filter(|t| !t.is_empty())
}

fn scroll(current: u16, code: KeyCode) -> u16 {
    match code {
        KeyCode::Down | KeyCode::Char('j') => current.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => current.saturating_sub(1),
        KeyCode::PageDown => current.saturating_add(10),
        KeyCode::PageUp => current.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => 0,
        _ => current,
    }
}

fn confirm(s: &mut State, kind: ConfirmKind, reason: Option<String>) -> Vec<Effect> {
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
