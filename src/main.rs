use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    proxdeck::cli::run(proxdeck::cli::Cli::parse())
}
