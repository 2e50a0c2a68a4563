//! The console's errors: what the engine said (kept whole, so the console can
//! tell a request it should let the user correct from a failure), a read of
//! the cluster that failed, or the terminal.

use std::sync::Arc;

use crate::engine::EngineError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConsoleError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(Arc<EngineError>),
    /// Reading the cluster (or the database) failed.
    #[error("{0}")]
    Read(String),
    /// A command line the console could not read (usage, unknown word).
    #[error("{0}")]
    Command(String),
    /// The terminal could not be set up or drawn on.
    #[error("terminal: {0}")]
    Terminal(String),
}

impl ConsoleError {
    /// Whether the user can fix this by changing what they asked (the form
    /// that asked stays open with its values).
    pub fn is_input_error(&self) -> bool {
        matches!(self, ConsoleError::Engine(e) if e.is_input_error())
    }
}

impl From<EngineError> for ConsoleError {
    fn from(e: EngineError) -> Self {
        ConsoleError::Engine(Arc::new(e))
    }
}

impl From<crate::pve::PveError> for ConsoleError {
    fn from(e: crate::pve::PveError) -> Self {
        ConsoleError::Engine(Arc::new(EngineError::Pve(e)))
    }
}

impl From<String> for ConsoleError {
    fn from(e: String) -> Self {
        ConsoleError::Read(e)
    }
}

impl From<&str> for ConsoleError {
    fn from(e: &str) -> Self {
        ConsoleError::Read(e.to_string())
    }
}
