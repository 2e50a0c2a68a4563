//! Setting up the engine for a command: configuration, database, client,
//! and (for planning) a fresh inventory with metadata brought up to date.

use super::Cli;
use super::context::{CliError, connect, load_config};
use crate::engine::{Engine, EngineOptions, GuestSel};
use crate::inventory::{Inventory, RefreshOptions};
use crate::naming::Convention;
use crate::store::Store;

pub fn engine(cli: &Cli, lease_secs: Option<i64>) -> Result<Engine, CliError> {
    let config = load_config(cli)?;
    let (cluster, client) = connect(cli, &config)?;
    let store = Store::open(&cli.db_path())?;
    let options = EngineOptions {
        read_only: cli.read_only || cluster.read_only,
        lease_secs: lease_secs.unwrap_or(30),
        ..EngineOptions::default()
    };
    let engine = Engine::new(config, &cluster.name, client, store, options);
    Ok(match &cluster.ssh {
        Some(ssh) => engine.with_hosts(std::sync::Arc::new(crate::host::ssh::SshRunner::new(ssh))),
        None => engine,
    })
}

/// Read the cluster and bring the metadata in line with it.
pub async fn inventory(engine: &Engine) -> Result<Inventory, CliError> {
    let (inv, _) = Inventory::refresh(engine.client(), None, &RefreshOptions::default()).await?;
    let conv = Convention::new(&engine.config().naming);
    engine
        .store()
        .write(|tx| crate::metadata::sync(tx, engine.cluster(), &conv, &inv))?;
    Ok(inv)
}

/// A guest by name or VMID.
pub fn guest(inv: &Inventory, which: &str) -> Result<GuestSel, CliError> {
    let g = inv.find(which).ok_or_else(|| {
        CliError(format!(
            "no guest named or numbered '{which}' in the cluster"
        ))
    })?;
    Ok(GuestSel::of(g))
}
