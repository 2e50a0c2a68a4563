//! Drawing the IP map: the subnet as a grid of addresses, a legend and the
//! subnet's conflicts.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::PaneId;
use super::ipmap::{self, CellState, GRID_WIDTH};
use crate::tui::state::State;
use crate::tui::theme::Role;
use crate::tui::view::ctx;
use crate::tui::widgets::block;

pub fn render(f: &mut Frame<'_>, area: Rect, s: &State) {
    let th = &s.theme;
    let c = ctx(s);
    let node = ipmap::current_node(&c);
    let subnet = node.as_ref().and_then(|n| s.config.naming.subnets.get(n));
    let (Some(node), Some(subnet)) = (node, subnet) else {
        let b = block(Line::from(" IP map "), th, true);
        f.render_widget(
            Paragraph::new("no subnets in naming-conventions.yml (ip_ranges)")
                .style(th.style(Role::Muted))
                .block(b),
            area,
        );
        return;
    };
    let conflicts = ipmap::subnet_conflicts(&s.world, subnet);
    let mut title = vec![
        Span::styled(" IP map ", th.style(Role::Title)),
        Span::styled(
            format!("{node} {} gw {} ", subnet.subnet, subnet.gateway),
            th.style(Role::Text),
        ),
    ];
    if !conflicts.is_empty() {
        title.push(Span::styled(
            format!(" {} conflict(s) ", conflicts.len()),
            th.style(Role::Conflict),
        ));
    }
    let filter = s.filter(PaneId::IpMap);
    if !filter.is_empty() {
        title.push(Span::styled(
            format!("· filter {} ", filter.text),
            th.style(Role::Warn),
        ));
    }
    let b = block(Line::from(title), th, true);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let table = s.table(PaneId::IpMap);
    let list = s.list(PaneId::IpMap);
    let total_rows = table.rows.len().div_ceil(GRID_WIDTH);
    // Legend and conflicts take the bottom lines when there is room.
    let legend_lines: u16 = if inner.width >= 100 { 1 } else { 2 };
    let conflict_lines =
        (conflicts.len() as u16).min(inner.height.saturating_sub(legend_lines + 8));
    let grid_h = usize::from(
        inner
            .height
            .saturating_sub(legend_lines + conflict_lines + 1),
    )
    .max(1);
    let sel_row = list.index / GRID_WIDTH;
    let mut off = list.offset.get().min(total_rows.saturating_sub(1));
    if sel_row < off {
        off = sel_row;
    } else if sel_row >= off + grid_h {
        off = sel_row + 1 - grid_h;
    }
    off = off.min(total_rows.saturating_sub(grid_h));
    list.offset.set(off);
    let sel_style = th.style(Role::Selection);
    let mut lines = Vec::new();
    for r in off..(off + grid_h).min(total_rows) {
        let first = &table.rows[r * GRID_WIDTH];
        let label = first
            .key
            .splitn(3, '.')
            .nth(2)
            .unwrap_or(&first.key)
            .to_string();
        let mut spans = vec![Span::styled(format!("{label:>8} "), th.style(Role::Muted))];
        for i in r * GRID_WIDTH..((r + 1) * GRID_WIDTH).min(table.rows.len()) {
            let row = &table.rows[i];
            let octet = row.key.rsplit('.').next().unwrap_or("");
            let mut style = th.style(row.cells[1].role);
            if !filter.is_empty() && !filter.matches(&row.search) {
                style = th.style(Role::Muted);
            }
            if i == list.index {
                style = sel_style;
            }
            spans.push(Span::styled(format!("{octet:>3}"), style));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(
        Paragraph::new(lines),
        Rect::new(inner.x, inner.y, inner.width, grid_h as u16),
    );
    // Legend.
    let mut legend = Vec::new();
    for st in CellState::LEGEND {
        legend.push(Span::styled(" ■ ", th.style(st.role())));
        legend.push(Span::styled(st.name(), th.style(Role::Muted)));
    }
    let legend_y = inner.y + grid_h as u16;
    f.render_widget(
        Paragraph::new(Line::from(legend)).wrap(ratatui::widgets::Wrap { trim: true }),
        Rect::new(
            inner.x,
            legend_y,
            inner.width,
            legend_lines.min(inner.height.saturating_sub(grid_h as u16)),
        ),
    );
    if conflict_lines > 0 {
        let lines: Vec<Line> = conflicts
            .iter()
            .take(usize::from(conflict_lines))
            .map(|c| Line::styled(format!(" ✗ {c}"), th.style(Role::Error)))
            .collect();
        f.render_widget(
            Paragraph::new(lines),
            Rect::new(
                inner.x,
                legend_y + legend_lines,
                inner.width,
                conflict_lines,
            ),
        );
    }
}
