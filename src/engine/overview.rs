//! One read of everything a front end shows about recent actions: records,
//! steps, per-target results and the last lines of output.

use serde::Serialize;

use super::core::{Engine, TargetResult, target_results};
use super::error::EngineError;
use super::journal::{self, StepRow};
use super::queue::{self, ActionRecord, ActionState};

/// An action with its steps, targets and recent output.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOverview {
    pub record: ActionRecord,
    pub steps: Vec<StepRow>,
    pub targets: Vec<TargetResult>,
    /// The last lines of the action's output, oldest first.
    pub log_tail: Vec<String>,
}

/// Lines of output kept per action in an overview.
const LOG_TAIL: usize = 200;

impl Engine {
    /// Actions still in play, plus the most recent `recent` finished ones,
    /// newest first. Held proposals (`proposed`) are left out: they belong
    /// to the dialog that made them.
    pub async fn overview(&self, recent: usize) -> Result<Vec<ActionOverview>, EngineError> {
        self.read(move |c, inner| {
            let all = queue::list(c, &inner.cluster, &[])?;
            let mut finished = 0;
            let mut out = Vec::new();
            for rec in all {
                if rec.state == ActionState::Proposed {
                    continue;
                }
                if rec.state.is_terminal() {
                    finished += 1;
                    if finished > recent {
                        continue;
                    }
                }
                let steps = journal::steps(c, &rec.id)?;
                let targets = target_results(c, &rec.id)?;
                let mut log_tail: Vec<String> = journal::log(c, &rec.id)?
                    .into_iter()
                    .map(|(_, _, line)| line)
                    .collect();
                if log_tail.len() > LOG_TAIL {
                    log_tail.drain(..log_tail.len() - LOG_TAIL);
                }
                out.push(ActionOverview {
                    record: rec,
                    steps,
                    targets,
                    log_tail,
                });
            }
            Ok(out)
        })
        .await
    }
}
