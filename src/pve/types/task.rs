use serde::{Deserialize, Serialize};

use crate::pve::de;

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskStatus {
    pub upid: String,
    #[serde(default)]
    pub node: String,
    /// `running` or `stopped`.
    pub status: String,
    #[serde(default)]
    pub exitstatus: Option<String>,
    #[serde(default, rename = "type")]
    pub task_type: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub starttime: Option<i64>,
}

impl TaskStatus {
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }
}

/// Whether a task's exit status means success: `OK` or `WARNINGS: n`
/// (pve-common's `status_is_error` rule).
pub fn exitstatus_ok(s: &str) -> bool {
    s == "OK" || s.starts_with("WARNINGS:")
}

/// One entry of `GET /cluster/tasks` or `/nodes/{node}/tasks`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskListItem {
    pub upid: String,
    #[serde(default)]
    pub node: String,
    #[serde(default, rename = "type")]
    pub task_type: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub starttime: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub endtime: Option<i64>,
    /// Absent while running; `OK`, `WARNINGS: n` or the error text when done.
    #[serde(default)]
    pub status: Option<String>,
}

/// One line of a task log (`n` is 1-based).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct LogLine {
    #[serde(deserialize_with = "de::i64_")]
    pub n: i64,
    #[serde(default)]
    pub t: String,
}
