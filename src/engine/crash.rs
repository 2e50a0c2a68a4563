//! Crash points for the crash-resume tests: `PROXDECK_CRASH_AT=<workflow>:<step>:<before|after|upid>`
//! kills the process at that step boundary. Compiled in only with the
//! `test-hooks` feature (the test command turns it on); any other build
//! ignores the variable.

/// Where in a step a crash point sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Journaled as running, before the work.
    Before,
    /// The work done, before it is journaled as done.
    After,
    /// A Proxmox task started and its UPID journaled, the task still running.
    Upid,
}

#[cfg(feature = "test-hooks")]
pub fn point(workflow: &str, step: &str, when: When) {
    use std::sync::OnceLock;
    static TARGET: OnceLock<Option<String>> = OnceLock::new();
    let target = TARGET.get_or_init(|| {
        std::env::var("PROXDECK_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())
    });
    if let Some(t) = target {
        let w = match when {
            When::Before => "before",
            When::After => "after",
            When::Upid => "upid",
        };
        if *t == format!("{workflow}:{step}:{w}") {
            eprintln!("proxdeck: crash point {t} reached; aborting");
            std::process::abort();
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
pub fn point(_workflow: &str, _step: &str, _when: When) {}
