//! The detail of the selected row, as a dialog on screens too narrow for
//! the side panel.

use ratatui::Frame;

use super::{frame_for, scrolled};
use crate::tui::keymap::{Cmd, DialogKind};
use crate::tui::keyspec::KeySpec;
use crate::tui::msg::Effect;
use crate::tui::panes;
use crate::tui::state::{Dialog, State};
use crate::tui::view::ctx;

pub(super) fn draw(f: &mut Frame<'_>, s: &State, scroll: u16) {
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
    crate::tui::widgets::detail(f, r, d.as_ref(), &s.theme, scroll);
}

pub(super) fn key(s: &mut State, scroll: u16, spec: KeySpec) -> Vec<Effect> {
    match s.keymap.lookup_dialog(spec, DialogKind::Detail) {
        Some(Cmd::CloseView) => Vec::new(),
        other => {
            s.dialogs.push(Dialog::Detail {
                scroll: scrolled(scroll, other),
            });
            Vec::new()
        }
    }
}
