//! `proxdeck demo`: the whole console against a built-in simulated cluster,
//! with nothing to set up and nothing written outside a temporary directory.

use std::path::{Path, PathBuf};

use super::Cli;
use super::console::{ConsoleArgs, needs_terminal, options, read_only_reason};
use super::context::{CliError, runtime};
use crate::config::Config;
use crate::engine::{Engine, EngineOptions};
use crate::pve::PveClient;
use crate::sim::{self, Scenario, SimOptions};
use crate::store::Store;
use crate::tui;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Real seconds per simulated second (0 finishes tasks at once)
    #[arg(long, default_value_t = 0.1)]
    pub time_scale: f64,
    /// `seed` (the design's cluster) or a scenario YAML file
    #[arg(long, default_value = "seed")]
    pub scenario: String,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs {
            time_scale: 0.1,
            scenario: "seed".into(),
            console: ConsoleArgs::default(),
        }
    }
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir, CliError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| CliError(format!("{}: {e}", dir.display())))?;
        Ok(TempDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything a demo session runs on.
pub struct DemoSession {
    pub sim: sim::SimHandle,
    /// The simulated nodes' shells (LVM, archive checks, upgrades).
    pub hosts: sim::host::SimHost,
    pub config: Config,
    pub client: PveClient,
    pub store: Store,
    pub dir: TempDir,
}

/// Start the simulator and point a configuration, client and database at it.
pub async fn start(args: &DemoArgs, db: Option<&Path>) -> Result<DemoSession, CliError> {
    let scenario = Scenario::named(&args.scenario).map_err(CliError)?;
    let mut options = SimOptions::new(scenario);
    options.time_scale = args.time_scale.max(0.0);
    let handle = sim::start(options).await.map_err(CliError)?;
    let dir = TempDir::new("proxdeck-demo")?;
    handle.write_config(dir.path()).map_err(CliError)?;
    let config = Config::load(dir.path()).map_err(|e| CliError(e.to_string()))?;
    let cluster = config.cluster(None).map_err(CliError)?;
    let client = PveClient::new(cluster)?;
    let db_path = db
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.path().join("proxdeck.db"));
    let store = Store::open(&db_path)?;
    let hosts = sim::host::SimHost::new(handle.shared.clone());
    // A snapshot an admin took by hand before last week's upgrade.
    hosts.add_snapshot(
        "pve-node-01",
        "root",
        "pre-upgrade-manual",
        16 << 30,
        5 * 86_400,
    );
    Ok(DemoSession {
        hosts,
        sim: handle,
        config,
        client,
        store,
        dir,
    })
}

/// Open the console on the simulated cluster.
pub fn run(args: &DemoArgs, cli: &Cli) -> Result<(), CliError> {
    needs_terminal()?;
    let rt = runtime()?;
    rt.block_on(async {
        let session = start(args, cli.db.as_deref()).await?;
        let cluster = session.config.cluster(None).map_err(CliError)?.name.clone();
        tracing::info!(url = %session.sim.url, "demo: simulated cluster started");
        let read_only = read_only_reason(
            cli.read_only,
            &cluster,
            false,
            session.config.policies.read_only,
        );
        let banner = "DEMO: simulated cluster".to_string();
        let opts = options(
            &session.config,
            &args.console,
            read_only.clone(),
            Some(banner),
        )?;
        let engine = Engine::new(
            session.config.clone(),
            &cluster,
            session.client.clone(),
            session.store.clone(),
            EngineOptions {
                read_only: read_only.is_some(),
                ..EngineOptions::default()
            },
            Some(std::sync::Arc::new(session.hosts.clone())),
        );
        let out = tui::run(engine, opts)
            .await
            .map_err(|e| CliError(e.to_string()));
        drop(session);
        out
    })
}
