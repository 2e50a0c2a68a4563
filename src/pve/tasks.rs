//! Following a Proxmox task to its end: status polling with back-off, new log
//! lines streamed as they appear, progress parsed from them.

use std::time::{Duration, Instant};

use super::client::PveClient;
use super::error::PveError;
use super::progress::parse_progress;
use super::types::{LogLine, exitstatus_ok};
use super::upid::Upid;

/// How to follow a task.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// First poll interval; grows by half each poll up to `poll_max`.
    pub poll_start: Duration,
    pub poll_max: Duration,
    /// Give up after this long (the task keeps running on the node).
    pub timeout: Option<Duration>,
    /// Log lines fetched per request.
    pub page: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            poll_start: Duration::from_millis(200),
            poll_max: Duration::from_secs(2),
            timeout: None,
            page: 500,
        }
    }
}

/// Something seen while following a task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    Line(LogLine),
    Progress(f64),
}

/// How a task ended successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    /// `OK` or `WARNINGS: n`.
    pub exitstatus: String,
    pub lines: u64,
}

impl PveClient {
    /// Follow `upid` until it stops. Success is `OK` or `WARNINGS: n`; any other
    /// exit status is returned as [`PveError::TaskFailed`] with Proxmox's text.
    pub async fn wait_task(
        &self,
        upid: &Upid,
        options: &WaitOptions,
        mut on_event: impl FnMut(TaskEvent),
    ) -> Result<TaskOutcome, PveError> {
        let started = Instant::now();
        let mut next_line: u32 = 0;
        let mut interval = options.poll_start;
        loop {
            let status = self.task_status(upid).await?;
            next_line = self
                .drain_log(upid, next_line, options.page, &mut on_event)
                .await?;
            if !status.is_running() {
                // Lines written between the status read and the end.
                next_line = self
                    .drain_log(upid, next_line, options.page, &mut on_event)
                    .await?;
                let exit = status
                    .exitstatus
                    .unwrap_or_else(|| "unexpected status".to_string());
                return if exitstatus_ok(&exit) {
                    Ok(TaskOutcome {
                        exitstatus: exit,
                        lines: u64::from(next_line),
                    })
                } else {
                    Err(PveError::TaskFailed {
                        upid: upid.to_string(),
                        exitstatus: exit,
                    })
                };
            }
            if let Some(limit) = options.timeout
                && started.elapsed() >= limit
            {
                return Err(PveError::Timeout {
                    what: format!("task {upid}"),
                    after: limit,
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval + interval / 2).min(options.poll_max);
        }
    }

    /// Fetch log lines from `start` until no more come; returns the next start.
    async fn drain_log(
        &self,
        upid: &Upid,
        mut start: u32,
        page: u32,
        on_event: &mut impl FnMut(TaskEvent),
    ) -> Result<u32, PveError> {
        loop {
            let (lines, _total) = self.task_log(upid, start, page).await?;
            let got = lines.len() as u32;
            for line in lines {
                if line.t == "no content" && line.n == 1 && start == 0 {
                    // Proxmox's placeholder for an empty log.
                    continue;
                }
                start = start.max(u32::try_from(line.n).unwrap_or(start));
                if let Some(p) = parse_progress(&line.t) {
                    on_event(TaskEvent::Progress(p));
                }
                on_event(TaskEvent::Line(line));
            }
            if got < page {
                return Ok(start);
            }
        }
    }
}
