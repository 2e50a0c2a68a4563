//! The engine: the one place infrastructure is changed. Front ends propose,
//! approve, reject and read through the named methods of [`Engine`]; the
//! policy check, the queue, the journal and the executor live here, and the
//! database is reached only from inside this module.
//!
//! Layout: [`action`] lists what can be asked (each payload lives with its
//! workflow in [`workflows`]), [`grammar`] turns text into actions for every
//! front end, [`plan`] holds what a plan is and what planning knows, and the
//! files named after a verb (`decide`, `query`, `refresh`, `identity`) are the
//! engine's public methods.

pub mod action;
pub mod audit;
pub mod audit_key;
pub mod auto;
mod claim;
pub mod core;
pub mod crash;
pub mod decide;
pub mod error;
pub mod events;
pub mod executor;
pub mod grammar;
pub mod identity;
pub mod journal;
pub mod plan;
mod preflight;
pub mod query;
pub mod queue;
pub mod refresh;
pub mod refresh_snapshots;
pub mod schedule;
pub mod snapshot_catalog;
pub mod workflows;

pub use self::core::{Engine, EngineOptions};
pub use action::*;
pub use error::EngineError;
pub use events::EngineEvent;
pub use query::{ActionOverview, StatusReport};
pub use queue::{ActionRecord, ActionState};
pub use workflows::replicate::tasks::{TargetResult, TargetStatus};
