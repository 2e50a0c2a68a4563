//! The README's screenshots, drawn from the demo: the simulated seed cluster
//! is started, the console's state is driven with the same keys a person
//! would press (replicate pve-db-01, approve it, watch it run), and each
//! screen buffer is written as SVG. `scripts/screenshots.sh` turns them into
//! PNGs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proxdeck::cli::demo::{DemoArgs, start};
use proxdeck::engine::{ActionState, Engine, EngineOptions};
use proxdeck::tui::app::{ConsoleOptions, Effects, initial_state};
use proxdeck::tui::keymap::Keymap;
use proxdeck::tui::msg::{Effect, Msg};
use proxdeck::tui::panes::PaneId;
use proxdeck::tui::refresher::Refresher;
use proxdeck::tui::state::State;
use proxdeck::tui::theme::Theme;
use proxdeck::tui::update::update;
use proxdeck::tui::{svg, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, watch};

struct Driver {
    state: State,
    rx: mpsc::UnboundedReceiver<Msg>,
    effects: Effects,
    out: PathBuf,
}

impl Driver {
    fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Quit | Effect::OpenLog(_) | Effect::CloseLog => {}
                other => self.effects.run(other),
            }
        }
    }

    fn key(&mut self, code: KeyCode) {
        let fx = update(
            &mut self.state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        );
        self.apply(fx);
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Feed messages until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&State) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(&self.state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("timed out waiting for {what}"));
            }
            let msg =
                match tokio::time::timeout(left.min(Duration::from_millis(250)), self.rx.recv())
                    .await
                {
                    Ok(Some(m)) => m,
                    Ok(None) => return Err("message channel closed".into()),
                    Err(_) => Msg::Tick(proxdeck::store::now()),
                };
            let fx = update(&mut self.state, msg);
            self.apply(fx);
        }
        Ok(())
    }

    /// Filter Resources to one guest and press `key` on it (Enter sends the form).
    async fn propose_on(&mut self, guest: &str, key: &str) -> Result<(), String> {
        self.key(KeyCode::Char('1'));
        self.key(KeyCode::Esc);
        self.keys(&format!("/{guest}"));
        self.key(KeyCode::Enter);
        self.keys(key);
        self.key(KeyCode::Enter);
        self.until("the plan", |s| !s.dialogs.is_empty() && s.busy.is_none())
            .await
    }

    fn select(&mut self, key: &str) {
        let pane = self.state.pane;
        let t = self.state.table(pane).clone();
        self.state.lists.entry(pane).or_default().select(&t, key);
    }

    fn shot(&mut self, name: &str, size: (u16, u16), theme: &str) -> Result<(), String> {
        let saved = (self.state.size, self.state.theme.clone());
        self.state.size = size;
        self.state.theme = Theme::built_in(theme).ok_or("theme")?;
        let mut term =
            Terminal::new(TestBackend::new(size.0, size.1)).map_err(|e| e.to_string())?;
        term.draw(|f| view::render(f, &self.state))
            .map_err(|e| e.to_string())?;
        let palette = if theme == "light" {
            svg::LIGHT
        } else {
            svg::DARK
        };
        let doc = svg::render(term.backend().buffer(), palette);
        let path = self.out.join(format!("{name}.svg"));
        std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{}", path.display());
        (self.state.size, self.state.theme) = saved;
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "screenshots".into()),
    );
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    // Simulated tasks take a third of their real time: long enough to catch
    // a replication half way.
    let args = DemoArgs {
        time_scale: 0.3,
        ..DemoArgs::default()
    };
    let session = start(&args, None).await.map_err(|e| e.to_string())?;
    let cluster = session.config.cluster(None)?.name.clone();
    let engine = Engine::new(
        session.config.clone(),
        &cluster,
        session.client.clone(),
        session.store.clone(),
        EngineOptions::default(),
        Some(std::sync::Arc::new(session.hosts.clone())),
    );
    let options = ConsoleOptions {
        theme: Theme::built_in("default").ok_or("theme")?,
        keymap: Keymap::default(),
        read_only: None,
        mouse: false,
        refresh: Duration::from_secs(2),
        reads: Default::default(),
        executor: true,
        banner: Some("DEMO: simulated cluster".into()),
    };
    let mut state = initial_state(&engine, &options);
    state.size = (160, 48);
    let (tx, rx) = mpsc::unbounded_channel();
    let refresher = Refresher::spawn(engine.clone(), tx.clone(), options.refresh);
    let effects = Effects::new(engine.clone(), tx.clone(), refresher);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let executor = engine.clone();
    tokio::spawn(async move {
        let _ = executor
            .run_until(async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await;
    });
    let mut events = engine.subscribe();
    let etx = tx.clone();
    tokio::spawn(async move {
        while let Ok(ev) = events.recv().await {
            if etx.send(Msg::Engine(ev)).is_err() {
                return;
            }
        }
    });
    let mut d = Driver {
        state,
        rx,
        effects,
        out,
    };
    d.until("the first reads", |s| {
        s.world.inventory.at.is_some()
            && s.world.snapshots.at.is_some()
            && s.world.backups.at.is_some()
            && s.world.tasks.at.is_some()
    })
    .await?;

    // A manual snapshot of pve-av-01 (no approval needed: it runs).
    d.keys("/pve-av-01");
    d.key(KeyCode::Enter);
    d.keys("s");
    d.keys("before-patch");
    d.key(KeyCode::Tab);
    d.keys("kernel 6.8 update");
    d.key(KeyCode::Enter);
    d.until("the snapshot plan", |s| {
        !s.dialogs.is_empty() && s.busy.is_none()
    })
    .await?;
    d.keys("y");
    d.until("the snapshot to finish", |s| {
        s.world
            .actions
            .data
            .iter()
            .any(|a| a.record.kind == "create_snapshot" && a.record.state == ActionState::Succeeded)
    })
    .await?;
    d.key(KeyCode::Char('1'));
    d.key(KeyCode::Esc);

    // A static address for pve-test-01: waits in Approvals.
    d.propose_on("pve-test-01", "i").await?;
    d.keys("y");
    d.until("the address proposal in Approvals", |s| {
        s.pending_approvals() == 1
    })
    .await?;

    // Replicate pve-db-01 to all nodes.
    d.propose_on("pve-db-01", "r").await?;
    d.shot("confirm", (160, 48), "default")?;
    d.keys("y");
    d.until("two pending approvals", |s| s.pending_approvals() == 2)
        .await?;
    let repl = d
        .state
        .world
        .actions
        .data
        .iter()
        .find(|a| a.record.kind == "replicate_resource")
        .map(|a| a.record.id.clone())
        .ok_or("no replication")?;
    d.select(&repl);
    d.shot("approvals", (160, 48), "default")?;
    d.keys("a");
    d.keys("y");
    d.until("the replication half way", |s| {
        s.world.action(&repl).is_some_and(|a| {
            let p = proxdeck::tui::panes::replication::overall_percent(&s.world, a);
            a.record.state == ActionState::Running && (35.0..80.0).contains(&p)
        })
    })
    .await?;
    d.shot("replication", (160, 48), "default")?;
    d.until("the replication to succeed", |s| {
        s.world
            .action(&repl)
            .is_some_and(|a| a.record.state == ActionState::Succeeded)
    })
    .await?;
    d.until("the replicas in the inventory", |s| {
        s.world.inv().find("pve-db-03").is_some()
    })
    .await?;
    d.key(KeyCode::Char('5'));
    d.select(&repl);
    d.shot("replication-done", (160, 48), "default")?;

    d.key(KeyCode::Char('1'));
    d.key(KeyCode::Esc);
    d.select("guest:101");
    d.shot("resources", (160, 48), "default")?;
    d.shot("resources-light", (160, 48), "light")?;
    d.shot("resources-80x24", (80, 24), "default")?;

    d.key(KeyCode::Char('2'));
    d.select("snap:102:before-patch");
    d.shot("snapshots", (160, 48), "default")?;

    // Verify the newest backup of pve-web-01 (no approval needed: it runs).
    d.key(KeyCode::Char('3'));
    let newest = d
        .state
        .table(PaneId::Backups)
        .rows
        .iter()
        .filter(|r| r.cells[0].text.starts_with("pve-web-01"))
        .max_by_key(|r| r.cells[1].text.clone())
        .map(|r| r.key.clone())
        .ok_or("no web backup")?;
    d.select(&newest);
    d.keys("v");
    d.until("the verification plan", |s| {
        !s.dialogs.is_empty() && s.busy.is_none()
    })
    .await?;
    d.keys("y");
    d.until("the verification", |s| {
        s.world
            .backups
            .data
            .iter()
            .any(|b| b.verification.as_deref() == Some("ok"))
    })
    .await?;
    d.key(KeyCode::Char('3'));
    d.select(&newest);
    d.shot("backups", (160, 48), "default")?;

    d.key(KeyCode::Char(':'));
    d.keys("ip node-02");
    d.key(KeyCode::Enter);
    d.select("192.168.2.101");
    d.shot("ipmap", (160, 48), "default")?;

    d.key(KeyCode::Char('7'));
    d.shot("tasks", (160, 48), "default")?;

    d.key(KeyCode::Char('?'));
    d.shot("help", (160, 48), "default")?;
    d.key(KeyCode::Esc);
    if d.state.pane != PaneId::Tasks {
        return Err("unexpected pane".into());
    }
    let _ = stop_tx.send(true);
    drop(session);
    Ok(())
}
