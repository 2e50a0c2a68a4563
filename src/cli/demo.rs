//! `proxdeck demo`: the whole console against a built-in simulated cluster,
//! with nothing to set up and nothing written outside a temporary directory.

use std::path::{Path, PathBuf};

use super::context::{CliError, runtime};
use super::sim::wait_for_shutdown;
use crate::config::Config;
use crate::inventory::{Inventory, RefreshOptions};
use crate::pve::PveClient;
use crate::sim::{self, Scenario, SimOptions};
use crate::store::Store;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Real seconds per simulated second (0 finishes tasks at once)
    #[arg(long, default_value_t = 0.1)]
    pub time_scale: f64,
    /// `seed` (the design's cluster) or a scenario YAML file
    #[arg(long, default_value = "seed")]
    pub scenario: String,
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
    Ok(DemoSession {
        sim: handle,
        config,
        client,
        store,
        dir,
    })
}

pub fn run(args: &DemoArgs, db: Option<&Path>) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let session = start(args, db).await?;
        let (inv, _) =
            Inventory::refresh(&session.client, None, &RefreshOptions::default()).await?;
        println!(
            "proxdeck demo: simulated cluster '{}' at {} (a simulation, not a real cluster)",
            session.sim.scenario.doc.cluster, session.sim.url
        );
        println!("configuration: {}", session.config.dir.display());
        for g in &inv.guests {
            println!(
                "  {:>5}  {:<12} {:<12} {:<5} {:<8} {}",
                g.vmid,
                g.name,
                g.node,
                g.kind.as_str(),
                g.status,
                g.primary_ip().map(|i| i.to_string()).unwrap_or_default()
            );
        }
        println!("Ctrl-C ends the demo.");
        wait_for_shutdown().await;
        Ok(())
    })
}
