//! The `console:` section of `proxdeck.yml`: theme, refresh period, mouse,
//! and key bindings (validated here so `check-config` reports bad keys with
//! file, line and field).

use std::collections::BTreeMap;

use super::reader::{Issues, MapView};
use crate::tui::keymap::{Cmd, Keymap};
use crate::tui::keyspec::KeySpec;

/// How the console looks and behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleConfig {
    /// Theme name (`default`, `light`, `high-contrast`) or a path.
    pub theme: Option<String>,
    /// Seconds between inventory reads.
    pub refresh_secs: u64,
    pub mouse: bool,
    /// Keys per command, replacing the defaults of the commands listed.
    pub keys: BTreeMap<Cmd, Vec<KeySpec>>,
    /// Run approved actions inside the console (as `proxdeck run` does).
    pub executor: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            theme: None,
            refresh_secs: 5,
            mouse: false,
            keys: BTreeMap::new(),
            executor: true,
        }
    }
}

const KEYS: &[&str] = &["theme", "refresh_secs", "mouse", "keys", "executor"];

pub fn read(map: &MapView<'_>, issues: &mut Issues) -> ConsoleConfig {
    let mut c = ConsoleConfig::default();
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
    if let Some(m) = map.opt_bool(issues, "mouse") {
        c.mouse = m.value;
    }
    if let Some(e) = map.opt_bool(issues, "executor") {
        c.executor = e.value;
    }
    if let Some(keys) = map.opt_map(issues, "keys") {
        for (key, _) in keys.entries() {
            let field = format!("{}.{}", keys.path, key.name);
            let Some(cmd) = Cmd::from_name(&key.name) else {
                issues.error(
                    key.pos,
                    &field,
                    format!(
                        "unknown command '{}' (commands: {})",
                        key.name,
                        Cmd::all()
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            };
            let Some(list) = keys.opt_str_list(issues, &key.name) else {
                continue;
            };
            let mut specs = Vec::new();
            let mut bad = false;
            for k in list {
                match KeySpec::parse(&k.value) {
                    Ok(s) => specs.push(s),
                    Err(e) => {
                        bad = true;
                        issues.error(k.pos, &k.field, e);
                    }
                }
            }
            if bad {
                continue;
            }
            if specs.is_empty() {
                issues.error(key.pos, &field, "give at least one key");
                continue;
            }
            c.keys.insert(cmd, specs);
        }
        if let Err(e) = Keymap::default().with_overrides(&c.keys) {
            issues.error(keys.pos, &keys.path, e);
        }
    }
    map.finish(issues, KEYS);
    c
}
