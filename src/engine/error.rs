//! Engine errors, with the Proxmox message or the rule that stopped something.
//!
//! The variants say what kind of problem it is, so a front end can answer
//! accordingly (the REST API maps them to status codes, the console decides
//! whether to keep a form open): the request was wrong, the cluster rules the
//! plan out, there is nothing to do, a policy refused, a step failed.

use std::fmt;

use crate::host::HostError;
use crate::ipam::IpamError;
use crate::naming::reserve::NameError;
use crate::pve::PveError;
use crate::store::StoreError;

use super::queue::ActionState;

/// One target of a replication or clone that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFailure {
    pub node: String,
    pub error: String,
}

/// Every failed target, `node: error; node: error`.
pub struct Failures<'a>(pub &'a [TargetFailure]);

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", t.node, t.error)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request itself is wrong (a bad name, size, address, mode): the
    /// requester can fix it and ask again.
    #[error("{0}")]
    Invalid(String),
    /// The cluster as it is now rules the plan out (no such storage, a node
    /// offline, no way to copy a guest there).
    #[error("{0}")]
    NotPossible(String),
    /// Nothing needs doing (every node has a replica, every backup is kept).
    #[error("{0}")]
    NothingToDo(String),
    #[error("no guest named or numbered '{0}' in the cluster")]
    UnknownGuest(String),
    #[error("unknown node '{0}' (not listed in naming-conventions.yml)")]
    UnknownNode(String),
    #[error("rejected by policy rule {rule}: {reason}")]
    Policy { rule: String, reason: String },
    #[error("no action {0}")]
    NoSuchAction(String),
    #[error("action {id} is {state}; {what}")]
    WrongState {
        id: String,
        state: ActionState,
        what: String,
    },
    #[error(
        "the plan of {id} changed since it was shown (it is now {now}); review it again before approving"
    )]
    PlanChanged { id: String, now: String },
    #[error("four-eyes rule: {0} proposed this action and may not approve it")]
    SameApprover(String),
    /// The executor found the queued action without the approval its plan
    /// needs (or with a plan other than the one approved).
    #[error("not run: {0}")]
    Unapproved(String),
    /// A running step found the cluster other than the plan expects.
    #[error("{0}")]
    Step(String),
    /// A check run on a node failed (archive verification, checksums).
    #[error("{0}")]
    Check(String),
    /// Another process took the action over (its lease ran out here).
    #[error("{owner} no longer holds {id} (another process took it over)")]
    LostLease { owner: String, id: String },
    /// Some targets of a copy failed (the others may have succeeded).
    #[error("{}", Failures(.0))]
    TargetsFailed(Vec<TargetFailure>),
    #[error(transparent)]
    Pve(#[from] PveError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Host(#[from] HostError),
    /// Stored JSON (a plan, a step's result) that does not read back.
    #[error("stored data does not read back: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cancelled")]
    Cancelled,
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError::Store(StoreError::Sql(e))
    }
}

impl EngineError {
    /// Whether the requester can fix this by asking differently (a form
    /// stays open with its values, the API answers 422).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            EngineError::Invalid(_)
                | EngineError::UnknownGuest(_)
                | EngineError::UnknownNode(_)
                | EngineError::Ipam(_)
                | EngineError::Name(_)
        )
    }
}
