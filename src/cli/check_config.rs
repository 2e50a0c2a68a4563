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
            // The console's key bindings are the console's to check.
            if let Err(issues) = crate::tui::keymap::Keymap::from_config(&config.console) {
                for issue in &issues {
                    println!("{issue}");
                }
                eprintln!("{} error(s) in {}", issues.len(), dir.display());
                return ExitCode::FAILURE;
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
        Err(mut errors) => {
            if let Err(mut keys) = crate::tui::keymap::Keymap::from_config(&errors.console) {
                errors.issues.append(&mut keys);
            }
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
