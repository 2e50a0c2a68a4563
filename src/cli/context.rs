//! What most commands need: the configuration, the chosen cluster, a client.

use std::fmt;

use super::Cli;
use crate::config::{ClusterConfig, Config, Severity};
use crate::pve::PveClient;

/// An error a command reports to the user and exits 1 on.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Load and validate the configuration; warnings go to stderr.
pub fn load_config(cli: &Cli) -> Result<Config, CliError> {
    let dir = cli.config_dir();
    match Config::load(&dir) {
        Ok(c) => {
            for w in &c.warnings {
                tracing::warn!("{w}");
            }
            Ok(c)
        }
        Err(e) => {
            let errors: Vec<String> = e
                .issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .map(|i| i.to_string())
                .collect();
            Err(CliError(format!(
                "the configuration in {} has errors:\n{}",
                dir.display(),
                errors.join("\n")
            )))
        }
    }
}

/// A client for the cluster chosen with `--cluster` (or the only one).
pub fn connect(cli: &Cli, config: &Config) -> Result<(ClusterConfig, PveClient), CliError> {
    let cluster = config
        .cluster(cli.cluster.as_deref())
        .map_err(CliError)?
        .clone();
    let client = PveClient::new(&cluster)?;
    Ok((cluster, client))
}

/// A multi-threaded runtime for async commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the async runtime: {e}")))
}
