//! `proxdeck sim`: serve a simulated Proxmox VE cluster on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::context::{CliError, runtime};
use crate::sim::{self, Scenario, SimOptions};

/// What `proxdeck sim` was asked for.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (loopback unless --allow-remote)
    #[arg(long, default_value = "127.0.0.1:8006")]
    pub listen: SocketAddr,
    /// `seed` (the design's 3-node cluster) or a scenario YAML file
    #[arg(long, default_value = "seed")]
    pub scenario: String,
    /// Generate a cluster of this many nodes instead (with --guests)
    #[arg(long, requires = "guests")]
    pub nodes: Option<u32>,
    /// Number of guests of a generated cluster
    #[arg(long, requires = "nodes")]
    pub guests: Option<u32>,
    /// Real seconds per simulated second (0 finishes tasks at once)
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seed for generated data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write proxdeck.yml, naming and policy files for this simulator into DIR
    #[arg(long, value_name = "DIR")]
    pub write_config: Option<PathBuf>,
    /// Allow a non-loopback listen address
    #[arg(long)]
    pub allow_remote: bool,
    /// Print the connection details as one JSON line (for scripts and tests)
    #[arg(long)]
    pub print_json: bool,
}

impl SimArgs {
    pub fn scenario(&self) -> Result<Scenario, CliError> {
        match (self.nodes, self.guests) {
            (Some(n), Some(g)) => Ok(Scenario::generated(n, g, self.seed)),
            _ => Scenario::named(&self.scenario).map_err(CliError),
        }
    }
}

pub fn run(args: &SimArgs) -> Result<(), CliError> {
    let scenario = args.scenario()?;
    let rt = runtime()?;
    rt.block_on(async {
        let mut options = SimOptions::new(scenario);
        options.listen = args.listen;
        options.allow_remote = args.allow_remote;
        options.time_scale = args.time_scale.max(0.0);
        options.seed = args.seed;
        let handle = sim::start(options).await.map_err(CliError)?;
        if let Some(dir) = &args.write_config {
            handle.write_config(dir).map_err(CliError)?;
        }
        let doc = &handle.scenario.doc;
        if args.print_json {
            println!(
                "{}",
                serde_json::json!({
                    "url": handle.url, "fingerprint": handle.fingerprint.to_string(), "token_id": handle.token_id,
                    "token_secret": handle.token_secret, "password": handle.password, "cluster": doc.cluster,
                })
            );
        } else {
            println!("proxdeck simulator (a simulation, not a real cluster): {} ({} nodes, {} guests)", doc.cluster, doc.nodes.len(), doc.guests.len());
            println!("  listening on    {}", handle.url);
            println!("  TLS fingerprint {}", handle.fingerprint);
            println!("  API token       {}={}", handle.token_id, handle.token_secret);
            println!("  password login  root@pam / {}", handle.password);
            println!("  fault control   {}/sim/... (loopback only)", handle.url);
            if let Some(dir) = &args.write_config {
                println!("  config written  {} (use: proxdeck --config {} ...)", dir.display(), dir.display());
            }
            println!("Ctrl-C stops it.");
        }
        wait_for_shutdown().await;
        drop(handle);
        Ok(())
    })
}

/// Ctrl-C, SIGTERM or SIGHUP.
pub async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}
