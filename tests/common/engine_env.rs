//! An engine pointed at a test target (simulator or fakepve), with the
//! repository's naming and policy files and a database in a temp directory.

use std::path::PathBuf;
use std::time::Duration;

use proxdeck::config::Config;
use proxdeck::engine::{
    Action, ActionRecord, ActionState, Actor, Engine, EngineError, EngineOptions, GuestSel, Via,
};
use proxdeck::inventory::Inventory;
use proxdeck::pve::{PveClient, WaitOptions};
use proxdeck::store::Store;

use super::target::Target;

pub struct EngineEnv {
    pub target: Target,
    pub engine: Engine,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
}

pub fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll_start: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        timeout: Some(Duration::from_secs(120)),
        page: 500,
    }
}

/// The repository's configuration with this target as the only cluster.
pub fn config_for(target: &Target) -> Config {
    let mut cfg = Config::load(&super::repo().join("config")).unwrap();
    cfg.clusters = vec![target.cluster(target.token_auth(), target.pin())];
    cfg
}

/// The requester of test actions.
pub fn me() -> Actor {
    Actor::local(Via::Cli)
}

impl EngineEnv {
    /// Approve a proposal with the hash of the plan it was shown with.
    pub async fn approve(&self, rec: &ActionRecord) {
        self.engine
            .approve(&rec.id, me(), rec.plan_hash.as_deref().unwrap(), None)
            .await
            .unwrap();
    }

    /// Propose (it must plan), approve if needed, run to the end; the record after.
    pub async fn run_action(&self, action: Action) -> ActionRecord {
        let id = self.run_action_later(action).await;
        self.engine.run_once().await.unwrap();
        self.engine.get(&id).await.unwrap().unwrap()
    }

    /// Propose (it must plan) and approve if needed, without running; its id.
    pub async fn run_action_later(&self, action: Action) -> String {
        let inv = self.inventory().await;
        let rec = self
            .engine
            .propose(action, me(), Some("test".into()), &inv)
            .await
            .unwrap();
        if rec.state == ActionState::PendingApproval {
            self.approve(&rec).await;
        }
        rec.id
    }

    /// Propose against a fresh inventory; the planner's answer.
    pub async fn propose(&self, action: Action) -> Result<ActionRecord, EngineError> {
        let inv = self.inventory().await;
        self.engine.propose(action, me(), None, &inv).await
    }

    pub async fn new(target: Target) -> EngineEnv {
        EngineEnv::edited(target, |_| {})
    }

    /// As `new`, with the configuration edited first; with the simulator's
    /// hosts when the target is the simulator (LVM, archive checks).
    pub fn edited(target: Target, edit: impl FnOnce(&mut Config)) -> EngineEnv {
        let mut cfg = config_for(&target);
        edit(&mut cfg);
        let hosts = target.sim_handle().map(|h| {
            std::sync::Arc::new(proxdeck::sim::host::SimHost::new(h.shared.clone()))
                as std::sync::Arc<dyn proxdeck::host::HostRunner>
        });
        EngineEnv::with_hosts(
            target,
            cfg,
            EngineOptions {
                wait: fast_wait(),
                lease_secs: 30,
                ..Default::default()
            },
            hosts,
        )
    }

    pub fn with_config(target: Target, cfg: Config, options: EngineOptions) -> EngineEnv {
        EngineEnv::with_hosts(target, cfg, options, None)
    }

    /// An engine that also reaches the nodes (the simulator's hosts, or SSH).
    pub fn with_hosts(
        target: Target,
        cfg: Config,
        options: EngineOptions,
        hosts: Option<std::sync::Arc<dyn proxdeck::host::HostRunner>>,
    ) -> EngineEnv {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("proxdeck.db");
        let store = Store::open(&db).unwrap();
        let client = PveClient::with_options(&cfg.clusters[0], Target::quick_options()).unwrap();
        let name = cfg.clusters[0].name.clone();
        let engine = Engine::new(cfg, &name, client, store, options, hosts);
        EngineEnv {
            target,
            engine,
            db,
            dir,
        }
    }

    /// A fresh inventory, with metadata brought up to date (the engine's refresh).
    pub async fn inventory(&self) -> Inventory {
        let read = self.engine.refresh_inventory(None).await.unwrap();
        std::sync::Arc::unwrap_or_clone(read.inventory)
    }

    /// A second connection to the engine's database, for tests that inspect rows.
    pub fn db(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    pub fn sel(inv: &Inventory, name: &str) -> GuestSel {
        let g = inv
            .find(name)
            .unwrap_or_else(|| panic!("{name} not in the inventory"));
        GuestSel::of(g)
    }

    /// The snapshots a running container was cloned from are gone.
    pub async fn assert_no_temporary_snapshots(&self, g: &proxdeck::pve::GuestRef) {
        let left = self.engine.client().snapshots(g).await.unwrap();
        assert!(
            left.iter().all(|s| !s.name.starts_with("proxdeck-copy-")),
            "the temporary snapshots are gone: {left:?}"
        );
    }

    /// How many identity reservations are still held.
    pub async fn reserved_count(&self) -> (i64, i64) {
        self.engine.reservations_held().await.unwrap()
    }
}
