//! Where proxdeck keeps its files, following the XDG base directory rules.

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(fallback))
        .join("proxdeck")
}

/// `$XDG_CONFIG_HOME/proxdeck` (default `~/.config/proxdeck`).
pub fn user_config_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config")
}

/// `$XDG_DATA_HOME/proxdeck` (default `~/.local/share/proxdeck`).
pub fn data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share")
}

/// `$XDG_STATE_HOME/proxdeck` (default `~/.local/state/proxdeck`).
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state")
}

/// The repository's own `config/` (the demo's configuration).
pub fn repo_config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The configuration directory: `--config`, else the user's if it exists, else the repository's.
pub fn config_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = flag {
        return dir;
    }
    let user = user_config_dir();
    if user.is_dir() {
        user
    } else {
        repo_config_dir()
    }
}

/// Default database file.
pub fn default_db() -> PathBuf {
    data_dir().join("proxdeck.db")
}

/// Default log file.
pub fn default_log() -> PathBuf {
    state_dir().join("proxdeck.log")
}
