//! Typed events the engine publishes for front ends.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// An action moved to another state.
    ActionChanged {
        id: String,
        state: crate::engine::queue::ActionState,
        note: Option<String>,
    },
    StepStarted {
        id: String,
        seq: u32,
        key: String,
    },
    StepFinished {
        id: String,
        seq: u32,
        key: String,
        ok: bool,
        error: Option<String>,
    },
    /// Progress of a step (from the Proxmox task log).
    Progress {
        id: String,
        key: String,
        target: Option<String>,
        percent: f64,
    },
    /// A line of a Proxmox task log or host command.
    TaskLine {
        id: String,
        key: String,
        line: String,
    },
    /// Something went wrong that a front end should show.
    Error {
        id: String,
        message: String,
    },
}

impl EngineEvent {
    pub fn action_id(&self) -> &str {
        match self {
            EngineEvent::ActionChanged { id, .. }
            | EngineEvent::StepStarted { id, .. }
            | EngineEvent::StepFinished { id, .. }
            | EngineEvent::Progress { id, .. }
            | EngineEvent::TaskLine { id, .. }
            | EngineEvent::Error { id, .. } => id,
        }
    }
}
