//! Logging through `tracing` to a file, never to the terminal (a TUI may own it).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start logging to `file` at `level` (or `PROXDECK_LOG`, an EnvFilter string).
/// Keep the returned guard alive until exit so buffered lines are flushed.
/// When the file cannot be opened, logging is off and the reason is returned.
pub fn init(file: &Path, level: &str) -> Result<WorkerGuard, String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create log directory {}: {e}", dir.display()))?;
    let name = file
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", file.display()))?;
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = std::env::var("PROXDECK_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(format!("proxdeck={level},warn")).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("logging already set up: {e}"))?;
    Ok(guard)
}
