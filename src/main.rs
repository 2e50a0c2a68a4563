use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    proxdeck::memory::limit_arenas();
    proxdeck::cli::run(proxdeck::cli::Cli::parse())
}
