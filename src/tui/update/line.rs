//! The filter line (`/`) and the command line (`:`), with completion.

use super::*;

pub fn set_filter(s: &mut State, pane: PaneId, text: &str) {
    let f = Filter::parse(text);
    if let Some(e) = &f.error {
        s.say(format!("regex: {e}"), Role::Error);
    }
    s.filters.insert(pane, f);
    s.rebuild(pane);
}

pub(super) fn filter_key(s: &mut State, mut input: TextArea<'static>, k: KeyEvent) -> Vec<Effect> {
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

pub(super) fn command_key(
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
            s.say(e.to_string(), Role::Error);
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
