//! Faults on demand: injected HTTP errors, tasks that fail part way, latency.
//! Node outages and held locks live in the model itself.

use std::time::Duration;

use serde::Deserialize;

use super::error::ApiError;

/// Answer `status message` to requests `method path` (path: exact, or a suffix).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HttpFault {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub message: String,
    /// How many requests to fail; absent: all.
    #[serde(default)]
    pub times: Option<u32>,
}

/// Make matching tasks fail once they pass `at_percent`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TaskFault {
    /// Task type (qmclone, vzdump, ...); absent: any.
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub vmid: Option<u32>,
    #[serde(default)]
    pub at_percent: f64,
    pub message: String,
    #[serde(default)]
    pub times: Option<u32>,
    /// Instead of failing: end `OK` without doing anything (a task whose
    /// success did not stick), to test that callers check the outcome.
    #[serde(default)]
    pub without_effect: bool,
}

/// What a task fault does to the task it hits.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskFaultHit {
    /// Fail once the task reaches this percent, with this message.
    Fail(f64, String),
    /// End OK without effect.
    NoEffect,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub http: Vec<HttpFault>,
    pub tasks: Vec<TaskFault>,
    pub latency: Duration,
}

fn consume(times: &mut Option<u32>) -> bool {
    match times {
        None => false,
        Some(n) => {
            *n = n.saturating_sub(1);
            *n == 0
        }
    }
}

impl Faults {
    /// The injected error for this request, if any (counts it down).
    pub fn take_http(&mut self, method: &str, path: &str) -> Option<ApiError> {
        let i = self.http.iter().position(|f| {
            f.method.eq_ignore_ascii_case(method) && (path == f.path || path.ends_with(&f.path))
        })?;
        let f = &mut self.http[i];
        let err = ApiError::new(f.status, f.message.clone());
        if consume(&mut f.times) {
            self.http.remove(i);
        }
        Some(err)
    }

    /// Whether a task of this type on this guest is to fail, and where.
    pub fn take_task(&mut self, task_type: &str, vmid: Option<u32>) -> Option<TaskFaultHit> {
        let i = self.tasks.iter().position(|f| {
            f.task_type.as_deref().is_none_or(|t| t == task_type)
                && f.vmid.is_none_or(|v| Some(v) == vmid)
        })?;
        let f = &mut self.tasks[i];
        let out = if f.without_effect {
            TaskFaultHit::NoEffect
        } else {
            TaskFaultHit::Fail(f.at_percent, f.message.clone())
        };
        if consume(&mut f.times) {
            self.tasks.remove(i);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out() {
        let mut f = Faults::default();
        f.http.push(HttpFault {
            method: "POST".into(),
            path: "/clone".into(),
            status: 500,
            message: "boom".into(),
            times: Some(2),
        });
        assert!(f.take_http("GET", "/nodes/x/qemu/1/clone").is_none());
        assert_eq!(
            f.take_http("POST", "/nodes/x/qemu/1/clone").unwrap().status,
            500
        );
        assert!(f.take_http("POST", "/nodes/x/qemu/1/clone").is_some());
        assert!(f.take_http("POST", "/nodes/x/qemu/1/clone").is_none());
    }
}
