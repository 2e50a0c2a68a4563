//! Engine events in the console: live progress, steps, log lines of open logs.

use super::*;

/// Keep open action logs in step with the journal.
pub(super) fn follow_action_logs(s: &mut State) {
    for d in s.dialogs.iter_mut() {
        if let Dialog::Log(v) = d
            && let LogSource::Action { id } = &v.source
            && let Some(a) = s.world.actions.data.iter().find(|a| &a.record.id == id)
        {
            v.lines = action_log_lines(a);
            v.finished = a.record.state.is_terminal();
        }
    }
}

/// An action's log: its journal steps, then its output.
pub fn action_log_lines(a: &crate::engine::ActionOverview) -> Vec<String> {
    let mut lines: Vec<String> = a
        .steps
        .iter()
        .map(|st| {
            format!(
                "[{:>2}] {:<24} {}{}",
                st.seq,
                st.key,
                st.state.as_str(),
                st.error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !a.log_tail.is_empty() {
        lines.push(String::new());
        lines.extend(a.log_tail.iter().cloned());
    }
    if let Some(e) = &a.record.error {
        lines.push(format!("error: {e}"));
    }
    lines
}

pub(super) fn engine_event(s: &mut State, ev: EngineEvent) -> Vec<Effect> {
    match ev {
        EngineEvent::Progress {
            id,
            target,
            percent,
            key,
        } => {
            s.world.live.insert(
                (id, target.unwrap_or_default()),
                LiveProgress {
                    percent,
                    step: Some(key),
                },
            );
            s.rebuild(PaneId::Replication);
            Vec::new()
        }
        EngineEvent::StepStarted { id, key, .. } => {
            s.world.current_step.insert(id, key);
            vec![Effect::Refresh]
        }
        EngineEvent::StepFinished { id, .. } => {
            s.world.current_step.remove(&id);
            vec![Effect::Refresh]
        }
        EngineEvent::TaskLine { id, line, .. } => {
            for d in s.dialogs.iter_mut() {
                if let Dialog::Log(v) = d
                    && v.source == (LogSource::Action { id: id.clone() })
                {
                    v.lines.push(line.clone());
                    s.dirty = true;
                }
            }
            Vec::new()
        }
        EngineEvent::ActionChanged { .. } | EngineEvent::Error { .. } => vec![Effect::Refresh],
    }
}
