//! `proxdeck check-config`: validate every configuration file at once.

use std::process::ExitCode;

use super::Cli;
use crate::config::{Config, Severity};

pub fn run(cli: &Cli) -> ExitCode {
    let dir = cli.config_dir();
    match Config::load(&dir) {
        Ok(config) => {
            for w in &config.warnings {
                eprintln!("{w}");
            }
            if config.clusters.is_empty() {
                eprintln!(
                    "note: {} has no proxdeck.yml; no clusters are configured",
                    dir.display()
                );
            }
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for issue in &errors.issues {
                match issue.severity {
                    Severity::Error => println!("{issue}"),
                    Severity::Warning => eprintln!("{issue}"),
                }
            }
            let n = errors
                .issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .count();
            eprintln!("{n} error(s) in {}", dir.display());
            ExitCode::FAILURE
        }
    }
}
