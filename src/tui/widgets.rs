//! Drawing the shared pieces: the windowed table (only visible rows are
//! built), detail panels and styled cells.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Cell as TCell, Paragraph, Row as TRow, Table as TTable, Wrap,
};

use super::panes::Detail;
use super::table::{Cell, Column, ListState, Table};
use super::theme::{Role, Theme};

pub fn block<'a>(title: impl Into<Line<'a>>, theme: &Theme, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Rounded
        } else {
            BorderType::Plain
        })
        .border_style(theme.style(if focused { Role::Accent } else { Role::Border }))
        .title(title)
        .title_style(theme.style(Role::Title))
}

pub fn spans<'a>(cells: &[Cell], theme: &Theme) -> Line<'a> {
    Line::from(
        cells
            .iter()
            .map(|c| Span::styled(c.text.clone(), theme.style(c.role)))
            .collect::<Vec<_>>(),
    )
}

/// Which columns fit in `width`, and how wide each is.
pub fn fit_columns(columns: &[Column], width: u16) -> Vec<(usize, u16)> {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let need = |keep: &[usize]| -> u16 {
        keep.iter().map(|i| columns[*i].width).sum::<u16>() + keep.len().saturating_sub(1) as u16
    };
    while need(&keep) > width && keep.len() > 1 {
        // Drop the column that gives way first.
        let Some((pos, _)) = keep
            .iter()
            .enumerate()
            .max_by_key(|(_, i)| (columns[**i].drop_order, **i))
        else {
            break;
        };
        if columns[keep[pos]].drop_order == 0 {
            break;
        }
        keep.remove(pos);
    }
    let spare = width.saturating_sub(need(&keep));
    let growers: Vec<usize> = keep.iter().copied().filter(|i| columns[*i].grow).collect();
    let share = if growers.is_empty() {
        0
    } else {
        spare / growers.len() as u16
    };
    keep.iter()
        .map(|i| {
            let extra = if growers.contains(i) { share } else { 0 };
            (*i, columns[*i].width + extra)
        })
        .collect()
}

/// Draw a table, building widgets for the visible rows only.
pub fn table(
    f: &mut Frame<'_>,
    area: Rect,
    title: Line<'_>,
    t: &Table,
    list: &ListState,
    theme: &Theme,
    focused: bool,
) {
    let b = block(title, theme, focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if t.rows.is_empty() {
        let msg = if t.total > 0 {
            format!(
                "nothing matches the filter ({} hidden) · esc clears it",
                t.total
            )
        } else {
            t.empty.clone()
        };
        let role = if msg.starts_with("cannot") {
            Role::Error
        } else {
            Role::Muted
        };
        let y = inner.y + inner.height / 3;
        f.render_widget(
            Paragraph::new(msg)
                .style(theme.style(role))
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            Rect::new(inner.x, y, inner.width, inner.height - (y - inner.y)),
        );
        return;
    }
    let cols = fit_columns(&t.columns, inner.width);
    let body = inner.height.saturating_sub(1) as usize;
    let offset = list.visible_offset(body, t.rows.len());
    let header = TRow::new(cols.iter().map(|(i, _)| {
        let c = &t.columns[*i];
        let mark = if list.sort.column == *i && (list.sort != Default::default()) {
            if list.sort.desc { "▼" } else { "▲" }
        } else {
            ""
        };
        TCell::from(format!("{}{mark}", c.title))
    }))
    .style(theme.style(Role::Muted));
    let selection = theme.style(Role::Selection);
    let rows = t
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(body)
        .map(|(i, r)| {
            let cells = cols.iter().map(|(ci, w)| {
                let c = r.cells.get(*ci).cloned().unwrap_or_else(|| Cell::muted(""));
                let text = if t.columns[*ci].right {
                    format!("{:>w$}", c.text, w = usize::from(*w))
                } else {
                    super::fmt::clip(&c.text, usize::from(*w))
                };
                // The selected row reads in one colour: role colours on the
                // selection background can vanish.
                let style = if i == list.index {
                    selection
                } else {
                    theme.style(c.role)
                };
                TCell::from(Span::styled(text, style))
            });
            let row = TRow::new(cells);
            if i == list.index {
                row.style(selection)
            } else {
                row
            }
        });
    let widths: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    f.render_widget(
        TTable::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    // A scroll position when there is more than fits.
    if t.rows.len() > body && inner.width > 12 {
        let text = format!(" {}/{} ", list.index + 1, t.rows.len());
        let w = text.chars().count() as u16;
        f.render_widget(
            Paragraph::new(text).style(theme.style(Role::Muted)),
            Rect::new(
                area.x + area.width.saturating_sub(w + 2),
                area.y + area.height - 1,
                w,
                1,
            ),
        );
    }
}

/// Draw a detail panel (scrolled by `scroll` lines).
pub fn detail(f: &mut Frame<'_>, area: Rect, d: Option<&Detail>, theme: &Theme, scroll: u16) {
    let (title, lines) = match d {
        Some(d) => (
            format!(" {} ", d.title),
            d.lines.iter().map(|l| spans(l, theme)).collect::<Vec<_>>(),
        ),
        None => (
            " detail ".to_string(),
            vec![Line::styled("nothing selected", theme.style(Role::Muted))],
        ),
    };
    let b = block(Line::from(title), theme, false);
    f.render_widget(
        Paragraph::new(lines)
            .block(b)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .style(theme.style(Role::Text)),
        area,
    );
}

pub fn style_of(theme: &Theme, role: Role) -> Style {
    theme.style(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_give_way_in_drop_order_and_growers_take_the_rest() {
        let cols = vec![
            Column::new("A", 10, 0).grow(),
            Column::new("B", 10, 2),
            Column::new("C", 10, 1),
        ];
        assert_eq!(fit_columns(&cols, 40), vec![(0, 18), (1, 10), (2, 10)]);
        assert_eq!(fit_columns(&cols, 25), vec![(0, 14), (2, 10)]);
        // Never below the columns that may not be dropped.
        assert_eq!(fit_columns(&cols, 5), vec![(0, 10)]);
    }
}
