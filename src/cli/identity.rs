//! What the identity commands (`ip`, `metadata`) share: configuration, the
//! database, and (when the cluster answers) the live inventory.

use super::Cli;
use super::context::{CliError, load_config, runtime};
use crate::config::Config;
use crate::inventory::{Inventory, RefreshOptions};
use crate::ipam::LiveAddresses;
use crate::pve::{GuestKind, PveClient};
use crate::store::Store;

pub struct IdentityContext {
    pub config: Config,
    pub store: Store,
    /// The cluster's name (the database keys records by it).
    pub cluster: String,
    pub client: Option<PveClient>,
}

impl IdentityContext {
    pub fn open(cli: &Cli) -> Result<IdentityContext, CliError> {
        let config = load_config(cli)?;
        let store = Store::open(&cli.db_path())?;
        let (cluster, client) = match config.cluster(cli.cluster.as_deref()) {
            Ok(c) => (c.name.clone(), Some(PveClient::new(c)?)),
            Err(e) if config.clusters.is_empty() => {
                eprintln!("proxdeck: {e}; using the database only (cluster 'local')");
                ("local".to_string(), None)
            }
            Err(e) => return Err(CliError(e)),
        };
        Ok(IdentityContext {
            config,
            store,
            cluster,
            client,
        })
    }

    /// The live inventory, or an error naming why the cluster could not be read.
    pub fn inventory(&self) -> Result<Option<Inventory>, CliError> {
        let Some(client) = &self.client else {
            return Ok(None);
        };
        let rt = runtime()?;
        let (inv, _) = rt.block_on(Inventory::refresh(client, None, &RefreshOptions::default()))?;
        Ok(Some(inv))
    }

    /// Live addresses; when the cluster cannot be read, say so and go on with the database.
    pub fn live(&self) -> LiveAddresses {
        match self.inventory() {
            Ok(Some(inv)) => LiveAddresses::from_inventory(&inv),
            Ok(None) => LiveAddresses::default(),
            Err(e) => {
                eprintln!(
                    "proxdeck: warning: could not read the cluster ({e}); live addresses are not checked"
                );
                LiveAddresses::default()
            }
        }
    }
}

/// `qemu`/`vm` or `lxc`/`ct`.
pub fn parse_kind(s: &str) -> Result<GuestKind, String> {
    GuestKind::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| format!("'{s}' is not a guest type (qemu, vm, lxc, ct)"))
}

/// The OS user (and SSH client address) for records.
pub fn actor() -> String {
    crate::actor::current()
}
