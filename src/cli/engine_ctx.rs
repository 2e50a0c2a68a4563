//! Setting up the engine for a command: configuration, database, client,
//! host access, and (for planning) a fresh read of the cluster.

use std::sync::Arc;

use super::Cli;
use super::context::{CliError, connect, load_config};
use crate::engine::{Engine, EngineOptions, GuestSel};
use crate::inventory::Inventory;
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
    let hosts: Option<Arc<dyn crate::host::HostRunner>> = cluster.ssh.as_ref().map(|ssh| {
        Arc::new(crate::host::ssh::SshRunner::new(ssh)) as Arc<dyn crate::host::HostRunner>
    });
    Ok(Engine::new(
        config,
        &cluster.name,
        client,
        store,
        options,
        hosts,
    ))
}

/// Read the cluster through the engine (metadata and addresses brought in line).
pub async fn inventory(engine: &Engine) -> Result<Inventory, CliError> {
    let options = crate::inventory::RefreshOptions {
        read_tasks: false,
        ..Default::default()
    };
    let read = engine.refresh_inventory_with(None, &options).await?;
    Ok(Arc::unwrap_or_clone(read.inventory))
}

/// One node's guests read (configs the database knows are not read again),
/// for questions about that node.
pub async fn node_inventory(engine: &Engine, node: &str) -> Result<Inventory, CliError> {
    Ok(Arc::unwrap_or_clone(engine.refresh_node(node).await?))
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
