//! The engine: the one place infrastructure is changed. Front ends propose,
//! approve, reject and read; the policy check, the queue, the journal and the
//! executor live here.

pub mod action;
pub mod audit;
pub mod auto;
pub mod catalog;
pub mod core;
pub mod crash;
pub mod error;
pub mod events;
pub mod executor;
pub mod facts;
pub mod journal;
pub mod overview;
pub mod plan;
pub mod plan_backup;
pub mod plan_host;
pub mod planner;
pub mod queue;
pub mod schedule;
pub mod workflows;

pub use self::core::{Engine, EngineOptions, StatusReport, TargetResult};
pub use action::{Action, Actor, GuestSel, Targets, Via};
pub use error::EngineError;
pub use events::EngineEvent;
pub use overview::ActionOverview;
pub use queue::{ActionRecord, ActionState};
