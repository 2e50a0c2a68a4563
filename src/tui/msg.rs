//! Messages into `update` and the effects it asks the loop to carry out.

use crossterm::event::{KeyEvent, MouseEvent};

use super::error::ConsoleError;
use super::state::LogSource;
use super::world::{BackupItem, Snapshots};
use crate::engine::{Action, ActionOverview, ActionRecord, EngineEvent};
use crate::pve::types::TaskListItem;

pub use crate::engine::refresh::InventoryRead;

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Time passed (unix seconds now).
    Tick(i64),
    Inventory(Result<InventoryRead, ConsoleError>, i64),
    Snapshots(Result<Snapshots, ConsoleError>, i64),
    Backups(Result<Vec<BackupItem>, ConsoleError>, i64),
    Tasks(Result<Vec<TaskListItem>, ConsoleError>, i64),
    Actions(Result<Vec<ActionOverview>, ConsoleError>, i64),
    Engine(EngineEvent),
    /// A proposal was planned and is held for confirmation.
    Planned(Result<ActionRecord, ConsoleError>),
    /// A held proposal was sent on (queued for approval or to run).
    Submitted(Result<ActionRecord, ConsoleError>),
    /// An approval finished.
    Approved(Result<ActionRecord, ConsoleError>),
    /// A rejection or cancellation finished.
    Decided(Result<String, ConsoleError>),
    /// Lines of a log being followed.
    LogLines {
        source: LogSource,
        lines: Vec<String>,
        finished: bool,
        error: Option<String>,
    },
}

/// Work `update` asks for; the loop runs it off the key path and answers
/// with a `Msg`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Plan an action and hold it (answer: `Planned`).
    Propose {
        action: Action,
        reason: Option<String>,
    },
    /// Queue a held proposal whose plan (hash) was shown (answer: `Submitted`).
    Submit {
        id: String,
        hash: String,
    },
    /// Drop a held proposal (dialog cancelled), freeing its reservations.
    Discard {
        id: String,
    },
    Approve {
        id: String,
        hash: String,
        reason: Option<String>,
    },
    Reject {
        id: String,
        why: String,
    },
    Cancel {
        id: String,
    },
    /// Read everything now.
    Refresh,
    /// Start following a log (answers: `LogLines`).
    OpenLog(LogSource),
    CloseLog,
    Quit,
}
