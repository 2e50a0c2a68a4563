//! Taking over the terminal and always giving it back: on a normal exit, on a
//! panic (the hook restores before the message is printed, so it is
//! readable), and when the loop ends on SIGTERM or SIGHUP.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct Guard {
    mouse: bool,
}

static HOOK: Once = Once::new();

/// Whether the terminal is ours now. Leaving the alternate screen twice
/// would move the cursor back to where it was on entry and overwrite what was
/// printed since (a panic message), so restoring happens once.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Put the terminal back: raw mode off, main screen, cursor shown. Does
/// nothing the second time, and ignores errors when the terminal is gone
/// (there is nothing left to tell).
pub fn restore(mouse: bool) {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    if mouse {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = out.flush();
}

/// Enter raw mode and the alternate screen.
pub fn enter(mouse: bool) -> io::Result<(Term, Guard)> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore(true);
            previous(info);
        }));
    });
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let guard = Guard { mouse };
    let term = Terminal::new(CrosstermBackend::new(out))?;
    Ok((term, guard))
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore(self.mouse);
    }
}
