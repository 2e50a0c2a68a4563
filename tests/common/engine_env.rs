//! An engine pointed at a test target (simulator or fakepve), with the
//! repository's naming and policy files and a database in a temp directory.

use std::path::PathBuf;
use std::time::Duration;

use proxdeck::config::Config;
use proxdeck::engine::{Engine, EngineOptions, GuestSel};
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

impl EngineEnv {
    pub async fn new(target: Target) -> EngineEnv {
        let cfg = config_for(&target);
        EngineEnv::with_config(
            target,
            cfg,
            EngineOptions {
                wait: fast_wait(),
                lease_secs: 30,
                ..Default::default()
            },
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

    /// How many identity reservations are still held.
    pub async fn reserved_count(&self) -> (i64, i64) {
        self.engine.reservations_held().await.unwrap()
    }
}
