//! The command line: global flags and the subcommand tree.
//!
//! Each subcommand family lives in its own file and is added when it works.

mod backup;
mod check_config;
pub mod console;
pub mod context;
pub mod demo;
pub mod engine_ctx;
mod inventory;
mod ip;
mod lvm;
mod metadata;
pub mod plan;
mod queue;
pub mod sim;
pub mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::paths;

/// proxdeck: a terminal operations console for Proxmox VE clusters.
#[derive(Debug, Parser)]
#[command(name = "proxdeck", version, about, long_about = None)]
pub struct Cli {
    /// Configuration directory (default: $XDG_CONFIG_HOME/proxdeck, else the repository's config/)
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Database file (default: $XDG_DATA_HOME/proxdeck/proxdeck.db)
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Cluster to use when proxdeck.yml lists several
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Log level for the log file ($XDG_STATE_HOME/proxdeck/proxdeck.log): error, warn, info, debug, trace
    #[arg(long, global = true, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Reject every action that would change the cluster
    #[arg(long, global = true)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Exit non-zero, saying where, if any row was altered or the newest removed
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration directory; print `ok` or every problem found
    CheckConfig,
    /// List nodes and guests with their addresses (one /cluster/resources call plus configs)
    Inventory {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Only this node's guests (reads only their configs)
        #[arg(long)]
        node: Option<String>,
    },
    /// Serve a simulated Proxmox VE cluster on loopback (for trying proxdeck and for tests)
    Sim(sim::SimArgs),
    /// Open the console on the configured cluster (the default command)
    Console(console::ConsoleArgs),
    /// Run the console against a built-in simulated 3-node cluster: no setup needed
    Demo(demo::DemoArgs),
    /// Address management: next free address, assignments, list, reconcile with the cluster
    #[command(subcommand)]
    Ip(ip::IpCommand),
    /// What proxdeck knows about a guest (origin, replicas, network identity, naming)
    Metadata {
        /// The guest, by name or VMID
        guest: String,
        /// Machine-readable output (the design's shape)
        #[arg(long)]
        json: bool,
    },
    /// Propose an action (the same words as the console's `:` line): it is
    /// planned, checked against policy and queued
    Plan(plan::PlanArgs),
    /// The action queue (pending, approved, running; --all for every action)
    Queue {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// An action's plan, steps and outcome
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending action (the plan as stored, or --plan-hash of the one you saw)
    Approve {
        id: String,
        #[arg(long)]
        plan_hash: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject a pending action
    Reject {
        id: String,
        #[arg(long)]
        why: String,
    },
    /// Cancel an action (a running one stops between steps)
    Cancel { id: String },
    /// Run approved actions (headless executor); --once runs them to their end and exits
    Run {
        #[arg(long)]
        once: bool,
        /// Seconds an action stays claimed without a heartbeat (1-86400; renewed every third of it)
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=86_400))]
        lease_secs: Option<i64>,
    },
    /// An action's progress and per-target results
    Status {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Check the audit log's hash chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Backups: create, verify, sync, prune, restore with renaming, list
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// LVM host snapshots over SSH: snapshot, list, restore (merge), cleanup
    #[command(subcommand)]
    Lvm(lvm::LvmCommand),
    /// Upgrade a node's packages behind an LVM snapshot of its root (rolled back on failure)
    Upgrade(backup::With<crate::engine::grammar::UpgradeArgs>),
}

impl Cli {
    /// `proxdeck [--config DIR] [--db FILE] [--cluster NAME] WORDS...`: a
    /// command line that reaches the same cluster and database as this one,
    /// for hints such as "approve with: ...".
    pub fn command_line(&self, words: &[&str]) -> String {
        let mut out = vec!["proxdeck".to_string()];
        let quote = |p: &std::path::Path| crate::host::quote::word(&p.display().to_string());
        if let Some(c) = &self.config {
            out.push(format!("--config {}", quote(c)));
        }
        if let Some(d) = &self.db {
            out.push(format!("--db {}", quote(d)));
        }
        if let Some(c) = &self.cluster {
            out.push(format!("--cluster {}", crate::host::quote::word(c)));
        }
        out.extend(words.iter().map(|w| crate::host::quote::word(w)));
        out.join(" ")
    }

    pub fn config_dir(&self) -> PathBuf {
        paths::config_dir(self.config.clone())
    }

    pub fn db_path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(paths::default_db)
    }
}

/// Print a command's error and turn its result into an exit code.
fn report(result: Result<(), context::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proxdeck: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A command that picks its own exit code.
fn code(result: Result<ExitCode, context::CliError>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("proxdeck: {e}");
        ExitCode::FAILURE
    })
}

/// Commands that print and end: a reader that closes the pipe early
/// (`proxdeck queue | head`) ends them quietly, as it ends any Unix tool.
/// The long-running ones (console, executor, simulator) keep Rust's default,
/// so a closed connection is an error they handle, not a signal that kills.
fn quiet_on_closed_pipe(cmd: &Option<Command>) {
    let prints = !matches!(
        cmd,
        None | Some(Command::Console(_))
            | Some(Command::Demo(_))
            | Some(Command::Sim(_))
            | Some(Command::Run { .. })
    );
    if prints {
        // SAFETY: restoring the default disposition of SIGPIPE at start-up,
        // before any thread exists; no handler is installed.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    quiet_on_closed_pipe(&cli.command);
    // The demo writes nothing outside the temporary directory, its log included.
    let log_file = match &cli.command {
        Some(Command::Demo(_)) => {
            std::env::temp_dir().join(format!("proxdeck-demo-{}.log", std::process::id()))
        }
        _ => paths::default_log(),
    };
    let _guard = match crate::logging::init(&log_file, &cli.log_level) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("proxdeck: logging disabled: {e}");
            None
        }
    };
    match &cli.command {
        Some(Command::CheckConfig) => check_config::run(&cli),
        Some(Command::Inventory { json, node }) => {
            report(inventory::run(&cli, *json, node.as_deref()))
        }
        Some(Command::Sim(args)) => report(sim::run(args)),
        Some(Command::Demo(args)) => report(demo::run(args, &cli)),
        Some(Command::Console(args)) => report(console::run(&cli, args)),
        Some(Command::Ip(cmd)) => match ip::run(&cli, cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("proxdeck: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Metadata { guest, json }) => report(metadata::run(&cli, guest, *json)),
        Some(Command::Plan(args)) => code(plan::run(&cli, args)),
        Some(Command::Queue { all, json }) => code(queue::queue(&cli, *all, *json)),
        Some(Command::Show { id, json }) => code(queue::show(&cli, id, *json)),
        Some(Command::Approve {
            id,
            plan_hash,
            reason,
        }) => code(queue::approve(
            &cli,
            id,
            plan_hash.as_deref(),
            reason.as_deref(),
        )),
        Some(Command::Reject { id, why }) => code(queue::reject(&cli, id, why)),
        Some(Command::Cancel { id }) => code(queue::cancel(&cli, id)),
        Some(Command::Run { once, lease_secs }) => code(queue::run(&cli, *once, *lease_secs)),
        Some(Command::Status { id, json }) => code(queue::status(&cli, id, *json)),
        Some(Command::Audit(AuditCommand::Verify)) => code(queue::audit_verify(&cli)),
        Some(Command::Backup(cmd)) => code(backup::run(&cli, cmd)),
        Some(Command::Lvm(cmd)) => code(lvm::run(&cli, cmd)),
        Some(Command::Upgrade(w)) => code(lvm::upgrade(&cli, w)),
        None => report(console::run(&cli, &console::ConsoleArgs::default())),
    }
}
