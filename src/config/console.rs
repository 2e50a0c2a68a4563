//! The `console:` section of `proxdeck.yml`: theme, refresh period, mouse,
//! and key bindings. The key bindings are kept as written, with where they
//! were written; the console reads them (and `check-config` asks the console
//! to check them), so the configuration knows nothing of the console's keys.

use std::path::PathBuf;

use super::reader::{Issues, Located, MapView};

/// One `console.keys.<command>: [keys]` entry, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyOverride {
    /// The command's name (`snapshot`).
    pub command: Located<String>,
    /// The keys (`S`, `ctrl+q`).
    pub keys: Vec<Located<String>>,
}

/// How the console looks and behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleConfig {
    /// Theme name (`default`, `light`, `high-contrast`) or a path.
    pub theme: Option<String>,
    /// Seconds between inventory reads.
    pub refresh_secs: u64,
    /// Every guest config is read again within this many minutes (config
    /// edits make no task, so only this re-read notices them).
    pub config_sweep_minutes: u64,
    pub mouse: bool,
    /// Keys per command, replacing the defaults of the commands listed.
    pub keys: Vec<KeyOverride>,
    /// Where `console.keys` is (for errors about the whole section).
    pub keys_at: Option<Located<()>>,
    /// Run approved actions inside the console (as `proxdeck run` does).
    pub executor: bool,
    /// The file this section was read from.
    pub file: PathBuf,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            theme: None,
            refresh_secs: 5,
            config_sweep_minutes: 60,
            mouse: false,
            keys: Vec::new(),
            keys_at: None,
            executor: true,
            file: PathBuf::from(super::CLUSTERS_FILE),
        }
    }
}

const KEYS: &[&str] = &[
    "theme",
    "refresh_secs",
    "config_sweep_minutes",
    "mouse",
    "keys",
    "executor",
];

pub fn read(map: &MapView<'_>, issues: &mut Issues) -> ConsoleConfig {
    let mut c = ConsoleConfig {
        file: issues.file().to_path_buf(),
        ..ConsoleConfig::default()
    };
    if let Some(t) = map.opt_str(issues, "theme") {
        c.theme = Some(t.value);
    }
    if let Some(r) = map.opt_u64(issues, "refresh_secs") {
        if r.value == 0 || r.value > 3600 {
            issues.error(r.pos, &r.field, "must be between 1 and 3600 seconds");
        } else {
            c.refresh_secs = r.value;
        }
    }
    if let Some(r) = map.opt_u64(issues, "config_sweep_minutes") {
        if r.value == 0 || r.value > 10_080 {
            issues.error(r.pos, &r.field, "must be between 1 and 10080 minutes");
        } else {
            c.config_sweep_minutes = r.value;
        }
    }
    if let Some(m) = map.opt_bool(issues, "mouse") {
        c.mouse = m.value;
    }
    if let Some(e) = map.opt_bool(issues, "executor") {
        c.executor = e.value;
    }
    if let Some(keys) = map.opt_map(issues, "keys") {
        c.keys_at = Some(Located {
            value: (),
            pos: keys.pos,
            field: keys.path.clone(),
        });
        for (key, _) in keys.entries() {
            let Some(list) = keys.opt_str_list(issues, &key.name) else {
                continue;
            };
            c.keys.push(KeyOverride {
                command: Located {
                    value: key.name.clone(),
                    pos: key.pos,
                    field: format!("{}.{}", keys.path, key.name),
                },
                keys: list,
            });
        }
    }
    map.finish(issues, KEYS);
    c
}
