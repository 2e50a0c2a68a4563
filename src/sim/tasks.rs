//! Simulated Proxmox tasks: a UPID, log lines that appear over simulated time,
//! a config lock held while running, and an effect applied at the end.
//!
//! With time scale 0 a task runs to its end before the request answers (as
//! fakepve does); otherwise it runs on a tokio task, each step sleeping its
//! simulated seconds times the scale.

use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use super::model::{Model, SimTask, TaskState, now_unix};
use crate::pve::upid::Upid;

/// One log line, reached after `secs` simulated seconds, at `percent` progress.
#[derive(Debug, Clone)]
pub struct Step {
    pub secs: f64,
    pub line: String,
    pub percent: f64,
}

impl Step {
    pub fn new(secs: f64, percent: f64, line: impl Into<String>) -> Step {
        Step {
            secs,
            line: line.into(),
            percent,
        }
    }
}

/// The effect of a finished task: Ok(extra log lines), or Err(message) to fail it.
pub type Finish = Box<dyn FnOnce(&mut Model) -> Result<Vec<String>, String> + Send>;
/// What to undo when the task fails.
pub type Undo = Box<dyn FnOnce(&mut Model) + Send>;

pub struct TaskSpec {
    pub node: String,
    pub task_type: String,
    pub id: String,
    pub user: String,
    pub vmid: Option<u32>,
    /// Config lock on `vmid` while running (`clone`, `backup`, `migrate` ...).
    pub lock: Option<String>,
    /// Config locks on other guests for the task's life (an LXC clone's source: `disk`).
    pub other_locks: Vec<(u32, String)>,
    /// A config file lock the worker takes first (kind, vmid, exclusive);
    /// the task fails in Proxmox's words if another worker holds it.
    pub flock: Option<(crate::pve::types::GuestKind, u32, bool)>,
    /// Fails by Proxmox's own rules at this percent, with this message.
    pub fails: Option<(f64, String)>,
    /// Lines logged at once.
    pub header: Vec<String>,
    pub steps: Vec<Step>,
    pub finish: Finish,
    pub undo: Undo,
    /// Lines the worker writes when it fails (its own warnings about what it left).
    pub on_failure: Vec<String>,
}

impl TaskSpec {
    pub fn new(node: &str, task_type: &str, id: impl Into<String>, user: &str) -> TaskSpec {
        TaskSpec {
            node: node.to_string(),
            task_type: task_type.to_string(),
            id: id.into(),
            user: user.to_string(),
            vmid: None,
            lock: None,
            other_locks: Vec::new(),
            flock: None,
            fails: None,
            header: Vec::new(),
            steps: Vec::new(),
            finish: Box::new(|_| Ok(Vec::new())),
            undo: Box::new(|_| {}),
            on_failure: Vec::new(),
        }
    }

    pub fn vmid(mut self, vmid: u32) -> Self {
        self.vmid = Some(vmid);
        self
    }

    pub fn lock(mut self, lock: &str) -> Self {
        self.lock = Some(lock.to_string());
        self
    }

    /// Hold a config `lock:` on another guest while the task runs.
    pub fn lock_other(mut self, vmid: u32, lock: &str) -> Self {
        self.other_locks.push((vmid, lock.to_string()));
        self
    }

    /// Take a guest's config file lock first (exclusive or shared).
    pub fn flock(mut self, kind: crate::pve::types::GuestKind, vmid: u32, exclusive: bool) -> Self {
        self.flock = Some((kind, vmid, exclusive));
        self
    }

    /// End the task in failure once a step reaches `percent` (Proxmox's own
    /// refusals inside a worker, not injected faults).
    pub fn fail_at(mut self, percent: f64, message: &str) -> Self {
        self.fails = Some((percent, message.to_string()));
        self
    }

    pub fn header(mut self, line: impl Into<String>) -> Self {
        self.header.push(line.into());
        self
    }

    pub fn step(mut self, secs: f64, percent: f64, line: impl Into<String>) -> Self {
        self.steps.push(Step::new(secs, percent, line));
        self
    }

    pub fn steps(mut self, steps: Vec<Step>) -> Self {
        self.steps.extend(steps);
        self
    }

    pub fn finish(
        mut self,
        f: impl FnOnce(&mut Model) -> Result<Vec<String>, String> + Send + 'static,
    ) -> Self {
        self.finish = Box::new(f);
        self
    }

    pub fn undo(mut self, f: impl FnOnce(&mut Model) + Send + 'static) -> Self {
        self.undo = Box::new(f);
        self
    }

    /// A line the worker logs if it fails, before its error.
    pub fn on_failure(mut self, line: impl Into<String>) -> Self {
        self.on_failure.push(line.into());
        self
    }
}

/// Start a task; returns its UPID at once.
pub fn start(shared: &Arc<Shared>, model: &mut Model, spec: TaskSpec) -> Upid {
    let pid = model.alloc_pid();
    let now = now_unix();
    let boot = model
        .nodes
        .get(&spec.node)
        .map(|n| n.boot_unix)
        .unwrap_or(now - 3600);
    let pstart = ((now - boot).max(1) as u64) * 100;
    let upid = Upid::new(
        &spec.node,
        pid,
        pstart,
        now,
        &spec.task_type,
        &spec.id,
        &spec.user,
    );
    if let (Some(vmid), Some(lock)) = (spec.vmid, &spec.lock)
        && let Some(g) = model.guests.get_mut(&vmid)
    {
        g.config.insert("lock".into(), lock.clone());
    }
    for (vmid, lock) in &spec.other_locks {
        if let Some(g) = model.guests.get_mut(vmid) {
            g.config.insert("lock".into(), lock.clone());
        }
    }
    let mut no_effect = false;
    let mut fault =
        spec.fails.clone().or_else(
            || match model.faults.take_task(&spec.task_type, spec.vmid) {
                Some(crate::sim::faults::TaskFaultHit::Fail(at, msg)) => Some((at, msg)),
                Some(crate::sim::faults::TaskFaultHit::NoEffect) => {
                    no_effect = true;
                    None
                }
                None => None,
            },
        );
    // The worker's first act: take the config file lock (1 second's wait).
    let flock_held = match spec.flock {
        Some((kind, vmid, exclusive)) => match model.take_flock(kind, vmid, exclusive) {
            Ok(()) => Some(vmid),
            Err(msg) => {
                fault = Some((0.0, msg));
                None
            }
        },
        None => None,
    };
    model.tasks.push(SimTask {
        upid: upid.clone(),
        state: TaskState::Running,
        log: spec.header.clone(),
        endtime: None,
        vmid: spec.vmid,
        progress: 0.0,
    });
    model.trim_tasks();
    let runner = Runner {
        upid: upid.clone(),
        vmid: spec.vmid,
        lock: spec.lock,
        other_locks: spec.other_locks,
        flock: flock_held,
        fault,
        finish: spec.finish,
        undo: spec.undo,
        on_failure: spec.on_failure,
        no_effect,
    };
    if model.time_scale <= 0.0 {
        let mut runner = runner;
        for step in &spec.steps {
            if runner.advance(model, step) {
                return upid;
            }
        }
        runner.complete(model);
    } else {
        let shared = shared.clone();
        let steps = spec.steps;
        tokio::spawn(async move {
            let mut runner = runner;
            for step in &steps {
                let scale = shared.lock().time_scale;
                if step.secs > 0.0 && scale > 0.0 {
                    // A stop request cuts the wait short; the step then sees it.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs_f64(step.secs * scale)) => {}
                        _ = shared.stop_requested.notified() => {}
                    }
                }
                let mut model = shared.lock();
                if runner.advance(&mut model, step) {
                    return;
                }
            }
            let mut model = shared.lock();
            runner.complete(&mut model);
        });
    }
    upid
}

struct Runner {
    upid: Upid,
    vmid: Option<u32>,
    lock: Option<String>,
    other_locks: Vec<(u32, String)>,
    flock: Option<u32>,
    fault: Option<(f64, String)>,
    finish: Finish,
    undo: Undo,
    on_failure: Vec<String>,
    /// An injected fault: end OK, skipping the task's effect.
    no_effect: bool,
}

impl Runner {
    /// Log one step; true when the task ended here (stopped or failed).
    fn advance(&mut self, model: &mut Model, step: &Step) -> bool {
        let stop_requested = model
            .task(self.upid.as_str())
            .is_some_and(|t| t.state == TaskState::Stopping);
        if stop_requested {
            self.fail(model, "interrupted by signal".into());
            return true;
        }
        if let Some(t) = model.task_mut(self.upid.as_str()) {
            if !step.line.is_empty() {
                t.log.push(step.line.clone());
            }
            t.progress = step.percent;
        }
        if let Some((at, msg)) = &self.fault
            && step.percent >= *at
        {
            let msg = msg.clone();
            self.fail(model, msg);
            return true;
        }
        false
    }

    fn complete(mut self, model: &mut Model) {
        // A fault a step did not reach (a task with no steps) fails it at the end.
        if let Some((_, msg)) = self.fault.take() {
            self.fail(model, msg);
            return;
        }
        if self.no_effect {
            release_lock(model, self.vmid, self.lock.as_deref());
            release_others(model, &self.other_locks, self.flock);
            end(model, &self.upid, Vec::new(), "OK".into());
            return;
        }
        let finish = self.finish;
        match finish(model) {
            Ok(lines) => {
                release_lock(model, self.vmid, self.lock.as_deref());
                release_others(model, &self.other_locks, self.flock);
                end(model, &self.upid, lines, "OK".into());
            }
            Err(msg) => {
                let undo = self.undo;
                undo(model);
                release_lock(model, self.vmid, self.lock.as_deref());
                release_others(model, &self.other_locks, self.flock);
                end(model, &self.upid, self.on_failure, msg);
            }
        }
    }

    fn fail(&mut self, model: &mut Model, msg: String) {
        let undo = std::mem::replace(&mut self.undo, Box::new(|_| {}));
        undo(model);
        release_lock(model, self.vmid, self.lock.as_deref());
        release_others(model, &self.other_locks, self.flock.take());
        let lines = std::mem::take(&mut self.on_failure);
        end(model, &self.upid, lines, msg);
    }
}

fn release_lock(model: &mut Model, vmid: Option<u32>, lock: Option<&str>) {
    if let (Some(vmid), Some(lock)) = (vmid, lock)
        && let Some(g) = model.guests.get_mut(&vmid)
        && g.config.get("lock").map(String::as_str) == Some(lock)
    {
        g.config.remove("lock");
    }
}

fn release_others(model: &mut Model, locks: &[(u32, String)], flock: Option<u32>) {
    for (vmid, lock) in locks {
        release_lock(model, Some(*vmid), Some(lock));
    }
    if let Some(v) = flock {
        model.drop_flock(v);
    }
}

fn end(model: &mut Model, upid: &Upid, lines: Vec<String>, exit: String) {
    if let Some(t) = model.task_mut(upid.as_str()) {
        t.log.extend(lines);
        if exit == "OK" {
            t.log.push("TASK OK".into());
            t.progress = 100.0;
        } else {
            t.log.push(format!("TASK ERROR: {exit}"));
        }
        t.state = TaskState::Stopped(exit);
        t.endtime = Some(now_unix());
    }
}

/// A task that ran and ended at once (synchronous failures that still answer a UPID).
pub fn finished(
    shared: &Arc<Shared>,
    model: &mut Model,
    spec: TaskSpec,
    result: Result<(), String>,
) -> Upid {
    let spec = spec.finish(move |_| result.map(|_| Vec::new()));
    start_inline(shared, model, spec)
}

/// Like `start`, but always completes before returning, whatever the time scale.
fn start_inline(shared: &Arc<Shared>, model: &mut Model, spec: TaskSpec) -> Upid {
    let saved = model.time_scale;
    model.time_scale = 0.0;
    let upid = start(shared, model, spec);
    model.time_scale = saved;
    upid
}
