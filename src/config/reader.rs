//! Typed, error-collecting access to a located YAML tree.
//!
//! Every accessor records a [`ConfigIssue`] (file, line, column, field path, message)
//! and returns `None` instead of failing, so one pass over a file finds all its
//! problems. `MapView::finish` reports keys nobody asked for as unknown.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::{Key, Node, Pos, Value};

/// How bad a configuration finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub severity: Severity,
    pub file: PathBuf,
    pub pos: Pos,
    /// Dotted path of the field, e.g. `ip_ranges.node-02.subnet`.
    pub field: String,
    pub message: String,
}

impl ConfigIssue {
    /// An error about a whole file (no particular place in it).
    pub fn general(file: &Path, message: impl Into<String>) -> ConfigIssue {
        ConfigIssue {
            severity: Severity::Error,
            file: file.to_path_buf(),
            pos: Pos { line: 1, column: 1 },
            field: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {kind}: {}: {}",
            self.file.display(),
            self.pos.line,
            self.pos.column,
            if self.field.is_empty() {
                "(document)"
            } else {
                &self.field
            },
            self.message
        )
    }
}

/// Collects issues for one file.
#[derive(Debug)]
pub struct Issues {
    file: PathBuf,
    pub list: Vec<ConfigIssue>,
}

impl Issues {
    pub fn new(file: &Path) -> Self {
        Issues {
            file: file.to_path_buf(),
            list: Vec::new(),
        }
    }

    /// The file the issues are about.
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn error(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.push(Severity::Error, pos, field, message.into());
    }

    pub fn warning(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.push(Severity::Warning, pos, field, message.into());
    }

    fn push(&mut self, severity: Severity, pos: Pos, field: &str, message: String) {
        self.list.push(ConfigIssue {
            severity,
            file: self.file.clone(),
            pos,
            field: field.to_string(),
            message,
        });
    }

    /// Whether an error was recorded after the first `mark` issues.
    pub fn errors_since(&self, mark: usize) -> bool {
        self.list[mark..]
            .iter()
            .any(|i| i.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|i| i.severity == Severity::Error)
    }
}

/// A value read from the file, with where it came from (for later cross-field checks).
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
    pub field: String,
}

/// A mapping being read; remembers which keys were consumed.
pub struct MapView<'a> {
    entries: &'a [(Key, Node)],
    used: Vec<Cell<bool>>,
    pub path: String,
    pub pos: Pos,
}

/// Join a parent path and a key the way error messages show fields.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> MapView<'a> {
    /// View `node` as a mapping; a `null` document counts as an empty mapping.
    pub fn new(node: &'a Node, path: &str, issues: &mut Issues) -> Option<Self> {
        match &node.value {
            Value::Map(entries) => Some(MapView {
                used: entries.iter().map(|_| Cell::new(false)).collect(),
                entries,
                path: path.to_string(),
                pos: node.pos,
            }),
            Value::Null => Some(MapView {
                entries: &[],
                used: Vec::new(),
                path: path.to_string(),
                pos: node.pos,
            }),
            other => {
                issues.error(
                    node.pos,
                    path,
                    format!("expected a mapping, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// The raw node under `key`, marking it consumed.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        let i = self.entries.iter().position(|(k, _)| k.name == key)?;
        self.used[i].set(true);
        Some(&self.entries[i].1)
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.name == key)
    }

    /// Every entry in file order, all marked consumed (for free-form maps keyed by name).
    pub fn entries(&self) -> impl Iterator<Item = (&'a Key, &'a Node)> + '_ {
        self.used.iter().for_each(|u| u.set(true));
        self.entries.iter().map(|(k, n)| (k, n))
    }

    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Report every key that no accessor asked for.
    pub fn finish(&self, issues: &mut Issues, known: &[&str]) {
        for ((key, _), used) in self.entries.iter().zip(&self.used) {
            if !used.get() {
                issues.error(
                    key.pos,
                    &join(&self.path, &key.name),
                    format!(
                        "unknown key '{}' (expected one of: {})",
                        key.name,
                        known.join(", ")
                    ),
                );
            }
        }
    }

    pub fn req_str(&self, issues: &mut Issues, key: &str) -> Option<Located<String>> {
        let v = self.opt_str(issues, key);
        if v.is_none() && !self.has(key) {
            issues.error(self.pos, &self.field(key), "required field is missing");
        }
        v
    }

    pub fn opt_str(&self, issues: &mut Issues, key: &str) -> Option<Located<String>> {
        let node = self.get(key)?;
        as_str(node, &self.field(key), issues)
    }

    pub fn opt_bool(&self, issues: &mut Issues, key: &str) -> Option<Located<bool>> {
        let node = self.get(key)?;
        match &node.value {
            Value::Bool(b) => Some(self.located(*b, node, key)),
            other => {
                issues.error(
                    node.pos,
                    &self.field(key),
                    format!("expected true or false, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn opt_u64(&self, issues: &mut Issues, key: &str) -> Option<Located<u64>> {
        let node = self.get(key)?;
        match &node.value {
            Value::Int(i) if *i >= 0 => Some(self.located(*i as u64, node, key)),
            other => {
                issues.error(
                    node.pos,
                    &self.field(key),
                    format!("expected a non-negative integer, found {}", describe(other)),
                );
                None
            }
        }
    }

    pub fn opt_f64(&self, issues: &mut Issues, key: &str) -> Option<Located<f64>> {
        let node = self.get(key)?;
        match &node.value {
            Value::Int(i) => Some(self.located(*i as f64, node, key)),
            Value::Float(f) => Some(self.located(*f, node, key)),
            other => {
                issues.error(
                    node.pos,
                    &self.field(key),
                    format!("expected a number, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a one-element list.
    pub fn opt_str_list(&self, issues: &mut Issues, key: &str) -> Option<Vec<Located<String>>> {
        let node = self.get(key)?;
        let field = self.field(key);
        match &node.value {
            Value::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| as_str(item, &format!("{field}[{i}]"), issues))
                    .collect(),
            ),
            Value::Str(_) => as_str(node, &field, issues).map(|s| vec![s]),
            Value::Null => Some(Vec::new()),
            other => {
                issues.error(
                    node.pos,
                    &field,
                    format!("expected a list of strings, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn opt_map(&self, issues: &mut Issues, key: &str) -> Option<MapView<'a>> {
        let node = self.get(key)?;
        MapView::new(node, &self.field(key), issues)
    }

    /// The items of a list field, each with its own path (`key[i]`).
    pub fn opt_seq(&self, issues: &mut Issues, key: &str) -> Option<Vec<(String, &'a Node)>> {
        let node = self.get(key)?;
        let field = self.field(key);
        match &node.value {
            Value::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (format!("{field}[{i}]"), n))
                    .collect(),
            ),
            Value::Null => Some(Vec::new()),
            other => {
                issues.error(
                    node.pos,
                    &field,
                    format!("expected a list, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn located<T>(&self, value: T, node: &Node, key: &str) -> Located<T> {
        Located {
            value,
            pos: node.pos,
            field: self.field(key),
        }
    }
}

/// A scalar as text: strings as written, numbers and booleans are refused
/// (a quoted value is expected) except where the caller accepts them.
pub fn as_str(node: &Node, field: &str, issues: &mut Issues) -> Option<Located<String>> {
    match &node.value {
        Value::Str(s) => Some(Located {
            value: s.clone(),
            pos: node.pos,
            field: field.to_string(),
        }),
        other => {
            issues.error(
                node.pos,
                field,
                format!("expected a string, found {}", describe(other)),
            );
            None
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Str(s) => format!("the string '{s}'"),
        other => other.type_name().to_string(),
    }
}
