//! A message (a plan refused, an error) that any key closes.

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::frame_for;
use crate::tui::state::State;
use crate::tui::theme::Role;
use crate::tui::widgets::block;

pub(super) fn draw(f: &mut Frame<'_>, s: &State, title: &str, text: &str, role: Role) {
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
