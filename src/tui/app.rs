//! The console's loop: one task selecting over terminal events, data reads,
//! engine events, effect results, signals and a tick; `update` changes the
//! state; the screen is redrawn only when something changed, at most about
//! 60 times a second, inside a synchronized update.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, interval, sleep_until};

use super::error::ConsoleError;
use super::keymap::Keymap;
use super::msg::{Effect, Msg};
use super::refresher::{Refresher, fresh_inventory};
use super::state::{LogSource, State};
use super::terminal;
use super::theme::Theme;
use super::update::update;
use super::world::World;
use crate::engine::{Actor, Engine, Via};
use crate::pve::Upid;
use crate::store::now;

/// How the console runs.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Why mutations are refused (read-only mode), if they are.
    pub read_only: Option<String>,
    pub mouse: bool,
    pub refresh: Duration,
    /// How reads are spread (the config sweep's period).
    pub reads: crate::inventory::RefreshOptions,
    /// Run approved actions in this process.
    pub executor: bool,
    /// Shown in the header.
    pub banner: Option<String>,
}

const FRAME: Duration = Duration::from_millis(16);

/// The console's state before the first read.
pub fn initial_state(engine: &Engine, options: &ConsoleOptions) -> State {
    let world = World {
        cluster: engine.cluster().to_string(),
        badge: options.banner.clone(),
        user: Actor::local(Via::Tui).label(),
        refresh_secs: options.refresh.as_secs().max(1),
        host_access: engine.host_runner().is_some(),
        ..World::default()
    };
    let config = Arc::new(engine.config().clone());
    let mut state = State::new(
        config,
        world,
        options.keymap.clone(),
        options.theme.clone(),
        now(),
    );
    state.read_only = options.read_only.clone();
    state.mouse = options.mouse;
    if options.executor {
        state.owner = Some(engine.owner().to_string());
    }
    state
}

/// Run the console until the user quits or a signal arrives.
pub async fn run(engine: Engine, options: ConsoleOptions) -> Result<(), ConsoleError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut state = initial_state(&engine, &options);

    let (mut term, guard) = terminal::enter(options.mouse)
        .map_err(|e| format!("cannot take over the terminal: {e}"))?;
    if let Ok(size) = term.size() {
        state.size = (size.width, size.height);
    }

    let refresher = Refresher::spawn_with(
        engine.clone(),
        tx.clone(),
        options.refresh,
        options.reads.clone(),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    if options.executor {
        let eng = engine.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = eng.run_until(shutdown).await {
                tracing::error!(error = %e, "executor stopped");
            }
        });
    }
    {
        let mut events = engine.subscribe();
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(ev) => {
                        if tx.send(Msg::Engine(ev)).is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "console fell behind engine events");
                    }
                    Err(_) => return,
                }
            }
        });
    }

    let mut terminal_events = EventStream::new();
    let mut tick = interval(Duration::from_millis(250));
    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    let mut sighup =
        signal(SignalKind::hangup()).map_err(|e| ConsoleError::Terminal(e.to_string()))?;
    let mut next_frame = Instant::now();
    let mut log_stop: Option<watch::Sender<bool>> = None;
    let ctx = Effects::new(engine.clone(), tx.clone(), refresher.clone());

    let result = loop {
        let msg = tokio::select! {
            ev = terminal_events.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => break Err(ConsoleError::Terminal(e.to_string())),
                None => break Ok(()),
            },
            Some(m) = rx.recv() => m,
            _ = tick.tick() => Msg::Tick(now()),
            _ = sigterm.recv() => { tracing::info!("SIGTERM: leaving"); break Ok(()) }
            _ = sighup.recv() => { tracing::info!("SIGHUP (terminal gone): leaving"); break Ok(()) }
            _ = sleep_until(next_frame), if state.dirty => Msg::Tick(now()),
        };
        for effect in update(&mut state, msg) {
            match effect {
                Effect::Quit => {}
                Effect::OpenLog(source) => {
                    if let Some(s) = log_stop.take() {
                        let _ = s.send(true);
                    }
                    let (s, r) = watch::channel(false);
                    log_stop = Some(s);
                    ctx.follow_log(source, r);
                }
                Effect::CloseLog => {
                    if let Some(s) = log_stop.take() {
                        let _ = s.send(true);
                    }
                }
                other => ctx.run(other),
            }
        }
        if state.quit {
            break Ok(());
        }
        refresher.show(state.pane);
        if state.dirty && Instant::now() >= next_frame {
            if let Err(e) = draw(&mut term, &state) {
                break Err(ConsoleError::Terminal(format!("drawing: {e}")));
            }
            state.dirty = false;
            next_frame = Instant::now() + FRAME;
        }
    };
    let _ = stop_tx.send(true);
    drop(term);
    drop(guard);
    result
}

fn draw(term: &mut terminal::Term, state: &State) -> std::io::Result<()> {
    crossterm::queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(|f| super::view::render(f, state))?;
    crossterm::queue!(term.backend_mut(), EndSynchronizedUpdate)?;
    term.backend_mut().flush()
}

/// Carries out effects off the key path; answers come back as messages.
pub struct Effects {
    engine: Engine,
    tx: mpsc::UnboundedSender<Msg>,
    refresher: Refresher,
}

impl Effects {
    pub fn new(engine: Engine, tx: mpsc::UnboundedSender<Msg>, refresher: Refresher) -> Effects {
        Effects {
            engine,
            tx,
            refresher,
        }
    }

    fn actor() -> Actor {
        Actor::local(Via::Tui)
    }

    /// Start an effect; its answer arrives as a message.
    pub fn run(&self, effect: Effect) {
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        match effect {
            Effect::Refresh => self.refresher.refresh(),
            Effect::Propose { action, reason } => {
                let previous = self.refresher.latest();
                tokio::spawn(async move {
                    // Plan against the cluster as it is now, not as last shown.
                    let r = match fresh_inventory(&engine, previous.as_deref()).await {
                        Ok(read) => engine
                            .propose_held(action, Self::actor(), reason, &read.inventory)
                            .await
                            .map_err(ConsoleError::from),
                        Err(e) => Err(ConsoleError::Read(format!(
                            "cannot read the cluster to plan: {e}"
                        ))),
                    };
                    let _ = tx.send(Msg::Planned(r));
                });
            }
            Effect::Submit { id, hash } => {
                let refresher = self.refresher.clone();
                tokio::spawn(async move {
                    let r = engine
                        .submit(&id, &hash, Self::actor())
                        .await
                        .map_err(ConsoleError::from);
                    let _ = tx.send(Msg::Submitted(r));
                    refresher.reload_actions();
                });
            }
            Effect::Discard { id } => {
                tokio::spawn(async move {
                    if let Err(e) = engine.cancel(&id, Self::actor()).await {
                        tracing::warn!(id, error = %e, "could not drop a held proposal");
                    }
                });
            }
            Effect::Approve { id, hash, reason } => {
                let refresher = self.refresher.clone();
                tokio::spawn(async move {
                    let r = engine
                        .approve(&id, Self::actor(), &hash, reason)
                        .await
                        .map_err(ConsoleError::from);
                    let _ = tx.send(Msg::Approved(r));
                    refresher.reload_actions();
                });
            }
            Effect::Reject { id, why } => {
                let refresher = self.refresher.clone();
                tokio::spawn(async move {
                    let r = engine
                        .reject(&id, Self::actor(), &why)
                        .await
                        .map(|rec| format!("rejected: {}", rec.action.describe()))
                        .map_err(ConsoleError::from);
                    let _ = tx.send(Msg::Decided(r));
                    refresher.reload_actions();
                });
            }
            Effect::Cancel { id } => {
                let refresher = self.refresher.clone();
                tokio::spawn(async move {
                    let r = engine
                        .cancel(&id, Self::actor())
                        .await
                        .map(|rec| match rec.state {
                            crate::engine::ActionState::Running => {
                                format!(
                                    "cancelling {}: it stops after the current step",
                                    rec.action.describe()
                                )
                            }
                            _ => format!("cancelled: {}", rec.action.describe()),
                        })
                        .map_err(ConsoleError::from);
                    let _ = tx.send(Msg::Decided(r));
                    refresher.reload_actions();
                });
            }
            Effect::OpenLog(_) | Effect::CloseLog | Effect::Quit => {}
        }
    }

    /// Follow a log until `stop` turns true: a Proxmox task's log is read
    /// in pages until the task ends; an action's log comes with the action
    /// reads (and live lines from engine events).
    pub fn follow_log(&self, source: LogSource, mut stop: watch::Receiver<bool>) {
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        match source.clone() {
            LogSource::Action { .. } => self.refresher.reload_actions(),
            LogSource::Task { upid } => {
                tokio::spawn(async move {
                    let Ok(upid) = upid.parse::<Upid>() else {
                        let _ = tx.send(Msg::LogLines {
                            source,
                            lines: Vec::new(),
                            finished: true,
                            error: Some(format!("not a task id: {upid}")),
                        });
                        return;
                    };
                    let mut next: u32 = 0;
                    loop {
                        let status = engine.client().task_status(&upid).await;
                        let done = status.as_ref().is_ok_and(|s| !s.is_running());
                        match engine.client().task_log(&upid, next, 500).await {
                            Ok((lines, _)) => {
                                next += lines.len() as u32;
                                let texts: Vec<String> = lines.into_iter().map(|l| l.t).collect();
                                let more = !texts.is_empty();
                                let _ = tx.send(Msg::LogLines {
                                    source: source.clone(),
                                    lines: texts,
                                    finished: done && !more,
                                    error: None,
                                });
                                if more {
                                    continue;
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Msg::LogLines {
                                    source: source.clone(),
                                    lines: Vec::new(),
                                    finished: true,
                                    error: Some(e.to_string()),
                                });
                                return;
                            }
                        }
                        if done {
                            return;
                        }
                        tokio::select! {
                            _ = stop.wait_for(|s| *s) => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                });
            }
        }
    }
}
