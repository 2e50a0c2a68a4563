//! Reading actions: one record, lists, steps, the design's status shape, and
//! the overview a live front end draws (records, steps, targets, output).

use serde::Serialize;

use super::core::Engine;
use super::error::EngineError;
use super::journal::{self, StepRow, StepState};
use super::queue::{self, ActionRecord, ActionState};
use super::workflows::replicate::tasks::{self, TargetResult};

/// The design's replication status shape (`GET /api/clone/status/{id}`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusReport {
    pub task_id: String,
    /// The design's words: `completed` for a success, else the action's state.
    pub status: String,
    /// Percent of the steps done; whole numbers are written as integers (`100`).
    #[serde(serialize_with = "percent")]
    pub progress: f64,
    pub results: Vec<TargetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A percentage as the design writes it: `100`, `42.5`.
fn percent<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

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
    pub async fn get(&self, id: &str) -> Result<Option<ActionRecord>, EngineError> {
        let id = id.to_string();
        self.read(move |c, _| queue::get(c, &id)).await
    }

    /// Actions in `states` (every action when empty), newest first.
    pub async fn list(&self, states: Vec<ActionState>) -> Result<Vec<ActionRecord>, EngineError> {
        self.read(move |c, inner| queue::list(c, &inner.cluster, &states))
            .await
    }

    pub async fn steps(&self, id: &str) -> Result<Vec<StepRow>, EngineError> {
        let id = id.to_string();
        self.read(move |c, _| journal::steps(c, &id)).await
    }

    /// Every output line an action journaled: (step seq, time, line).
    pub async fn log(&self, id: &str) -> Result<Vec<(Option<u32>, i64, String)>, EngineError> {
        let id = id.to_string();
        self.read(move |c, _| journal::log(c, &id)).await
    }

    /// The design's status shape for an action.
    pub async fn status(&self, id: &str) -> Result<StatusReport, EngineError> {
        let id_s = id.to_string();
        self.read(move |c, _| {
            let rec =
                queue::get(c, &id_s)?.ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
            let results = tasks::results(c, &id_s)?;
            let steps = journal::steps(c, &id_s)?;
            let progress = if rec.state == ActionState::Succeeded {
                100.0
            } else if steps.is_empty() {
                0.0
            } else {
                let done = steps.iter().filter(|s| s.state == StepState::Done).count();
                (done as f64 * 100.0 / steps.len() as f64 * 10.0).round() / 10.0
            };
            let status = match rec.state {
                ActionState::Succeeded => "completed",
                s => s.as_str(),
            };
            Ok(StatusReport {
                task_id: rec.id,
                status: status.to_string(),
                progress,
                results,
                error: rec.error,
            })
        })
        .await
    }

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
                let targets = tasks::results(c, &rec.id)?;
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
