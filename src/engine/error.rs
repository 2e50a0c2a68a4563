//! Engine errors, with the Proxmox message or the rule that stopped something.

use crate::ipam::IpamError;
use crate::naming::reserve::NameError;
use crate::pve::PveError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Plan(String),
    #[error("rejected by policy rule {rule}: {reason}")]
    Policy { rule: String, reason: String },
    #[error("no action {0}")]
    NoSuchAction(String),
    #[error("action {id} is {state}; {what}")]
    WrongState {
        id: String,
        state: String,
        what: String,
    },
    #[error(
        "the plan of {id} changed since it was shown (it is now {now}); review it again before approving"
    )]
    PlanChanged { id: String, now: String },
    #[error("four-eyes rule: {0} proposed this action and may not approve it")]
    SameApprover(String),
    #[error(transparent)]
    Pve(#[from] PveError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cancelled")]
    Cancelled,
    /// A host command failed or the node could not be reached.
    #[error("{0}")]
    Host(String),
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError::Store(StoreError::Sql(e))
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::Store(StoreError::Worker(format!("JSON: {e}")))
    }
}
