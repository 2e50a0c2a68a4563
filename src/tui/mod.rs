//! The console: a ratatui TUI on the engine. State changes only in
//! `update::update` (keys and data in, effects out), so behaviour is tested
//! without a terminal; `view` draws the state; `app` runs the loop.

pub mod app;
pub mod cmdline;
pub mod dialogs;
pub mod error;
pub mod filter;
pub mod fmt;
pub mod forms;
pub mod intents;
pub mod keymap;
pub mod keyspec;
pub mod msg;
pub mod panes;
pub mod recording;
pub mod refresher;
pub mod state;
pub mod svg;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
pub mod widgets;
pub mod world;

pub use app::{ConsoleOptions, run};
