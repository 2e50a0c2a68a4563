//! Drawing the console: header, tabs, the pane, the bottom line and dialogs.
//! Reads the state only (scroll offsets aside, which follow the selection).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::keymap::Cmd;
use super::panes::PaneId;
use super::panes::ipmap_grid;
use super::panes::{self, Ctx};
use super::state::{Mode, State};
use super::theme::Role;
use super::{dialogs, widgets};

/// Where things go on a screen of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub tabs: Rect,
    pub table: Rect,
    pub detail: Option<Rect>,
    pub footer: Rect,
}

/// Wide screens show the detail beside the list, tall ones below it,
/// small ones not at all (Enter opens it).
pub fn layout(size: (u16, u16), s: &State) -> Areas {
    let area = Rect::new(0, 0, size.0, size.1);
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Action panes read best with the detail (gauges, plans, results) at full width below.
    let stacked_first = matches!(s.pane, PaneId::Replication | PaneId::Approvals);
    let (table, detail) = if stacked_first && body.height >= 20 {
        let list_h = (s.table(s.pane).rows.len() as u16 + 3).clamp(5, body.height * 2 / 5);
        let [t, d] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(1)]).areas(body);
        (t, Some(d))
    } else if body.width >= 120 {
        let [t, d] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(body);
        (t, Some(d))
    } else if body.height >= 34 {
        let [t, d] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        (t, Some(d))
    } else {
        (body, None)
    };
    Areas {
        header,
        tabs,
        table,
        detail,
        footer,
    }
}

pub fn ctx(s: &State) -> Ctx<'_> {
    Ctx {
        config: &s.config,
        now: s.now,
        collapsed: &s.collapsed,
        ip: &s.ip,
        filtering: !s.filter(s.pane).is_empty(),
        tz: &s.tz,
    }
}

/// With the `test-hooks` feature, drawing the pane named by
/// `PROXDECK_TEST_PANIC_PANE` panics, so tests can check the terminal is
/// restored. Shipped builds have no such hook.
#[cfg(feature = "test-hooks")]
fn test_panic(s: &State) {
    static PANE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let wanted = PANE.get_or_init(|| std::env::var("PROXDECK_TEST_PANIC_PANE").ok());
    if wanted.as_deref() == Some(s.pane.slug()) {
        panic!("test panic in pane {}", s.pane.slug());
    }
}

pub fn render(f: &mut Frame<'_>, s: &State) {
    #[cfg(feature = "test-hooks")]
    test_panic(s);
    let size = f.area();
    let a = layout((size.width, size.height), s);
    header(f, a.header, s);
    tabs(f, a.tabs, s);
    let c = ctx(s);
    if s.pane == PaneId::IpMap {
        ipmap_grid::render(f, a.table, s);
    } else {
        let t = s.table(s.pane);
        widgets::table(f, a.table, pane_title(s), t, s.list(s.pane), &s.theme, true);
    }
    if let Some(d) = a.detail {
        let detail = s
            .selected(s.pane)
            .and_then(|k| panes::detail(s.pane, &s.world, k, &c));
        widgets::detail(f, d, detail.as_ref(), &s.theme, 0);
    }
    footer(f, a.footer, s);
    dialogs::render(f, s);
}

fn pane_title(s: &State) -> Line<'static> {
    let t = s.table(s.pane);
    let mut parts = vec![Span::styled(
        format!(" {} ", s.pane.title()),
        s.theme.style(Role::Title),
    )];
    let count = match s.pane {
        PaneId::Resources => format!(
            "{} guests on {} nodes",
            s.world.inv().guests.len(),
            s.world.inv().nodes.len()
        ),
        _ => format!("{}", t.rows.len()),
    };
    parts.push(Span::styled(
        format!("{count} "),
        s.theme.style(Role::Muted),
    ));
    if let Some(loading) = loading_note(s) {
        parts.push(Span::styled(
            format!("· {loading} "),
            s.theme.style(Role::Warn),
        ));
    }
    let f = s.filter(s.pane);
    if !f.is_empty() {
        parts.push(Span::styled(
            format!("· filter {} ({} of {}) ", f.text, t.rows.len(), t.total),
            s.theme.style(if f.error.is_some() {
                Role::Error
            } else {
                Role::Warn
            }),
        ));
    }
    Line::from(parts)
}

/// What a pane still waits for: configs (addresses, hostnames) on the
/// first reads of a large cluster, snapshot lists not read yet.
fn loading_note(s: &State) -> Option<String> {
    let inv = s.world.inv();
    match s.pane {
        PaneId::Resources | PaneId::IpMap if inv.configs_loading > 0 => {
            Some(format!("{} configs loading", inv.configs_loading))
        }
        PaneId::Snapshots if s.world.snapshots.at.is_some() => {
            let unread = s.world.snapshots.data.unread(inv).count();
            (unread > 0).then(|| format!("{unread} guests' snapshots loading"))
        }
        _ => None,
    }
}

/// "updated 3s ago", flagged when old or when the last read failed.
pub fn data_age(s: &State) -> (String, Role) {
    let w = &s.world;
    match (w.age(s.now), &w.inventory.error) {
        (None, None) => ("connecting…".into(), Role::Muted),
        (None, Some(e)) => (format!("✗ cluster unreachable: {e}"), Role::Error),
        (Some(a), Some(e)) => (
            format!(
                "✗ cluster unreachable ({e}) · data from {} ago",
                super::fmt::age(a)
            ),
            Role::Error,
        ),
        (Some(a), None) if w.stale(s.now) => (
            format!("⚠ updated {} ago (stale)", super::fmt::age(a)),
            Role::Warn,
        ),
        (Some(a), None) => (format!("● updated {} ago", super::fmt::age(a)), Role::Ok),
    }
}

fn header(f: &mut Frame<'_>, area: Rect, s: &State) {
    let th = &s.theme;
    let base = th.style(Role::Header);
    let (age, age_role) = data_age(s);
    let mut left = vec![
        Span::styled(" proxdeck ", base.patch(th.style(Role::Title))),
        Span::styled(format!("│ {} ", s.world.cluster), base),
        Span::styled(
            s.world
                .badge
                .as_ref()
                .map(|b| format!("{b} "))
                .unwrap_or_default(),
            base.patch(th.style(Role::Warn)),
        ),
        Span::styled(format!("│ {} ", s.world.user), base),
        Span::styled("│ ", base),
        Span::styled(age, base.patch(th.style(age_role))),
        Span::styled(" ", base),
    ];
    if s.read_only.is_some() {
        left.push(Span::styled(" READ-ONLY ", th.style(Role::Conflict)));
    }
    let used: usize = left.iter().map(|s| s.content.chars().count()).sum();
    let right = " ? help  : command  q quit ";
    let pad = usize::from(area.width).saturating_sub(used + right.chars().count());
    if pad > 0 {
        left.push(Span::styled(" ".repeat(pad), base));
        left.push(Span::styled(right, base));
    }
    f.render_widget(Paragraph::new(Line::from(left)).style(base), area);
}

/// Tab labels at this width (short names on narrow screens).
pub fn tab_labels(s: &State, width: u16) -> Vec<(PaneId, String)> {
    let make = |short: bool| -> Vec<(PaneId, String)> {
        PaneId::ALL
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let name = if short {
                    match p {
                        PaneId::Resources => "Res",
                        PaneId::Snapshots => "Snap",
                        PaneId::Backups => "Bkp",
                        PaneId::IpMap => "IP",
                        PaneId::Replication => "Repl",
                        PaneId::Approvals => "Appr",
                        PaneId::Tasks => "Tasks",
                    }
                } else {
                    p.title()
                };
                let badge = match p {
                    PaneId::Approvals if s.pending_approvals() > 0 => {
                        format!(" ({})", s.pending_approvals())
                    }
                    PaneId::Replication => {
                        let n = s
                            .world
                            .actions
                            .data
                            .iter()
                            .filter(|a| {
                                a.record.state == crate::engine::ActionState::Running
                                    && panes::replication::is_copy(a)
                            })
                            .count();
                        if n > 0 {
                            format!(" ⟳{n}")
                        } else {
                            String::new()
                        }
                    }
                    _ => String::new(),
                };
                (*p, format!(" {} {name}{badge} ", i + 1))
            })
            .collect()
    };
    let full = make(false);
    if full.iter().map(|(_, l)| l.chars().count()).sum::<usize>() <= usize::from(width) {
        full
    } else {
        make(true)
    }
}

/// The pane whose tab is at column `x`.
pub fn tab_at(s: &State, x: u16) -> Option<PaneId> {
    let mut at = 0u16;
    for (p, label) in tab_labels(s, s.size.0) {
        let w = label.chars().count() as u16;
        if x >= at && x < at + w {
            return Some(p);
        }
        at += w;
    }
    None
}

/// The table row index at a screen position, if it is on a row.
pub fn row_at(s: &State, a: &Areas, x: u16, y: u16) -> Option<usize> {
    let t = a.table;
    // Border, then the header line.
    if x <= t.x || x >= t.x + t.width - 1 || y < t.y + 2 || y >= t.y + t.height - 1 {
        return None;
    }
    if s.pane == PaneId::IpMap {
        return None;
    }
    let offset = s.list(s.pane).offset.get();
    let i = offset + usize::from(y - t.y - 2);
    (i < s.table(s.pane).rows.len()).then_some(i)
}

fn tabs(f: &mut Frame<'_>, area: Rect, s: &State) {
    let th = &s.theme;
    let spans: Vec<Span> = tab_labels(s, area.width)
        .into_iter()
        .map(|(p, label)| {
            if p == s.pane {
                Span::styled(label, th.style(Role::TabActive))
            } else if p == PaneId::Approvals && s.pending_approvals() > 0 {
                Span::styled(label, th.style(Role::Warn))
            } else {
                Span::styled(label, th.style(Role::Muted))
            }
        })
        .collect();
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer(f: &mut Frame<'_>, area: Rect, s: &State) {
    let th = &s.theme;
    match &s.mode {
        Mode::Filter(input) => {
            let text = input.lines().join("");
            let line = Line::from(vec![
                Span::styled("/", th.style(Role::Key)),
                Span::styled(text, th.style(Role::Text)),
                Span::styled("▏", th.style(Role::Accent)),
                Span::styled(
                    "   enter keep · esc clear · ~ for a regex",
                    th.style(Role::Muted),
                ),
            ]);
            f.render_widget(Paragraph::new(line), area);
            return;
        }
        Mode::Command {
            input,
            completions,
            chosen,
        } => {
            let text = input.lines().join("");
            let line = Line::from(vec![
                Span::styled(":", th.style(Role::Key)),
                Span::styled(text, th.style(Role::Text)),
                Span::styled("▏", th.style(Role::Accent)),
            ]);
            f.render_widget(Paragraph::new(line), area);
            if !completions.is_empty() {
                let shown: Vec<Span> = completions
                    .iter()
                    .take(12)
                    .enumerate()
                    .map(|(i, c)| {
                        Span::styled(
                            format!(" {c} "),
                            th.style(if Some(i) == *chosen {
                                Role::Selection
                            } else {
                                Role::Text
                            }),
                        )
                    })
                    .collect();
                let popup = Rect::new(area.x, area.y.saturating_sub(1), area.width, 1);
                f.render_widget(Clear, popup);
                f.render_widget(
                    Paragraph::new(Line::from(shown)).style(th.style(Role::Header)),
                    popup,
                );
            }
            return;
        }
        Mode::Normal => {}
    }
    if let Some(b) = &s.busy {
        let spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'][(s.now as usize) % 10];
        f.render_widget(
            Paragraph::new(Span::styled(
                format!(" {spinner} {b}"),
                th.style(Role::Accent),
            )),
            area,
        );
        return;
    }
    if let Some(st) = &s.status {
        f.render_widget(
            Paragraph::new(Span::styled(format!(" {}", st.text), th.style(st.role))),
            area,
        );
        return;
    }
    f.render_widget(Paragraph::new(Line::from(hint_spans(s, area.width))), area);
}

/// The footer's hints, from the keymap, most important first; those that do
/// not fit give way, but `? help` always stays.
fn hint_spans(s: &State, width: u16) -> Vec<Span<'static>> {
    let th = &s.theme;
    let label = |cmd: Cmd| match cmd {
        Cmd::Open => match s.pane {
            PaneId::Tasks | PaneId::Replication => "log".to_string(),
            _ => "detail".to_string(),
        },
        other => other.label(),
    };
    let piece = |key: &str, text: &str, cmd: Cmd| {
        let disabled = cmd.mutates() && s.read_only.is_some();
        vec![
            Span::styled(
                format!(" {key}"),
                th.style(if disabled { Role::Muted } else { Role::Key }),
            ),
            Span::styled(format!(" {text} "), th.style(Role::Muted)),
        ]
    };
    let help: Vec<Span> = match s.keymap.help_key() {
        Some(k) => piece(&k.to_string(), &label(Cmd::Help), Cmd::Help),
        None => Vec::new(),
    };
    let room = usize::from(width).saturating_sub(help.iter().map(|s| s.width()).sum());
    let mut spans = Vec::new();
    let mut used = 0;
    for (key, cmd) in s.keymap.pane_hints(s.pane) {
        let p = piece(&key.to_string(), &label(cmd), cmd);
        let w: usize = p.iter().map(|s| s.width()).sum();
        if used + w > room {
            break;
        }
        used += w;
        spans.extend(p);
    }
    spans.extend(help);
    spans
}
