//! The mouse: tabs, rows and the wheel (when `console.mouse` is on).

use super::*;

pub(super) fn mouse(s: &mut State, m: crossterm::event::MouseEvent) -> Vec<Effect> {
    if !s.mouse {
        return Vec::new();
    }
    match m.kind {
        MouseEventKind::ScrollDown => run(s, Cmd::Down),
        MouseEventKind::ScrollUp => run(s, Cmd::Up),
        MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
            if !s.dialogs.is_empty() {
                return Vec::new();
            }
            let layout = crate::tui::view::layout(s.size, s);
            if m.row == layout.tabs.y {
                if let Some(p) = crate::tui::view::tab_at(s, m.column) {
                    go_to(s, p, None);
                }
            } else if let Some(row) = crate::tui::view::row_at(s, &layout, m.column, m.row) {
                let pane = s.pane;
                let (list, table) = s.list_and_table(pane);
                if let Some(key) = table.rows.get(row).map(|r| r.key.clone()) {
                    list.select(table, &key);
                }
            }
            s.dirty = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}
