//! `proxdeck console` (and `proxdeck` alone): the TUI on a configured
//! cluster, or the demo when none is configured.

use std::io::IsTerminal;
use std::time::Duration;

use super::Cli;
use super::context::{CliError, connect, load_config, runtime};
use crate::config::Config;
use crate::engine::{Engine, EngineOptions};
use crate::store::Store;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use crate::tui::{self, ConsoleOptions};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConsoleArgs {
    /// Colour theme: default, light, high-contrast, or a theme file (NO_COLOR turns colour off)
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Leave approved actions to `proxdeck run` instead of running them in this console
    #[arg(long)]
    pub no_executor: bool,
    /// Use the mouse: click tabs and rows, the wheel scrolls
    #[arg(long)]
    pub mouse: bool,
}

/// Console options from the configuration and the command line.
pub fn options(
    config: &Config,
    args: &ConsoleArgs,
    read_only: Option<String>,
    banner: Option<String>,
) -> Result<ConsoleOptions, CliError> {
    let c = &config.console;
    let theme_name = args
        .theme
        .clone()
        .or_else(|| c.theme.clone())
        .unwrap_or_else(|| "default".into());
    let theme = Theme::load(&theme_name, &config.dir)
        .map_err(CliError)?
        .honour_no_color();
    let keymap = Keymap::from_config(c).map_err(|issues| {
        CliError(
            issues
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    Ok(ConsoleOptions {
        theme,
        keymap,
        read_only,
        mouse: args.mouse || c.mouse,
        refresh: Duration::from_secs(c.refresh_secs.max(1)),
        reads: crate::inventory::RefreshOptions {
            sweep_period: Duration::from_secs(c.config_sweep_minutes.max(1) * 60),
            ..Default::default()
        },
        executor: c.executor && !args.no_executor,
        banner,
    })
}

/// Why this session may not change anything, if it may not.
pub fn read_only_reason(
    cli_flag: bool,
    cluster: &str,
    cluster_ro: bool,
    policy_ro: bool,
) -> Option<String> {
    if cli_flag {
        Some("started with --read-only".into())
    } else if cluster_ro {
        Some(format!("cluster '{cluster}' is read_only in proxdeck.yml"))
    } else if policy_ro {
        Some("read_only: true in action-policies.yml".into())
    } else {
        None
    }
}

pub fn needs_terminal() -> Result<(), CliError> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(CliError(
            "the console needs a terminal; for scripts use the commands (proxdeck --help)".into(),
        ))
    }
}

pub fn run(cli: &Cli, args: &ConsoleArgs) -> Result<(), CliError> {
    let config = load_config(cli)?;
    if config.clusters.is_empty() && cli.cluster.is_none() {
        // Nothing configured: the built-in simulated cluster.
        let demo = super::demo::DemoArgs {
            console: args.clone(),
            ..super::demo::DemoArgs::default()
        };
        return super::demo::run(&demo, cli);
    }
    needs_terminal()?;
    let (cluster, client) = connect(cli, &config)?;
    let store = Store::open(&cli.db_path())?;
    let read_only = read_only_reason(
        cli.read_only,
        &cluster.name,
        cluster.read_only,
        config.policies.read_only,
    );
    let opts = options(&config, args, read_only.clone(), None)?;
    let hosts = cluster.ssh.as_ref().map(|ssh| {
        std::sync::Arc::new(crate::host::ssh::SshRunner::new(ssh))
            as std::sync::Arc<dyn crate::host::HostRunner>
    });
    let engine = Engine::new(
        config,
        &cluster.name,
        client,
        store,
        EngineOptions {
            read_only: read_only.is_some(),
            ..EngineOptions::default()
        },
        hosts,
    );
    let rt = runtime()?;
    rt.block_on(tui::run(engine, opts))
        .map_err(|e| CliError(e.to_string()))
}
