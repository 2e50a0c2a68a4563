//! Configuration: clusters (`proxdeck.yml`), naming and subnets
//! (`naming-conventions.yml`) and policies (`action-policies.yml`), all read from
//! one directory and validated together, with every problem reported at once as
//! `file:line:column: field: message`.

pub mod clusters;
pub mod console;
pub mod naming;
pub mod operations;
pub mod policies;
pub mod reader;
pub mod subnets;
pub mod vmids;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use clusters::{AuthConfig, ClusterConfig, SecretSource, SshConfig, SshNode, TlsConfig};
pub use naming::{IpRange, MacConfig, MacScheme, NamingConfig, NodeEntry, NodeSubnet};
pub use policies::PolicyConfig;
pub use reader::{ConfigIssue, Issues, Severity};

pub const CLUSTERS_FILE: &str = "proxdeck.yml";
pub const NAMING_FILE: &str = "naming-conventions.yml";
pub const POLICIES_FILE: &str = "action-policies.yml";

/// A loaded, validated configuration directory.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub clusters: Vec<ClusterConfig>,
    pub naming: NamingConfig,
    pub policies: PolicyConfig,
    /// The `console:` section of proxdeck.yml.
    pub console: console::ConsoleConfig,
    /// Findings that do not stop proxdeck (inline secrets, insecure TLS, ...).
    pub warnings: Vec<ConfigIssue>,
}

/// Every issue found in a configuration directory (errors and warnings).
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub issues: Vec<ConfigIssue>,
    /// The `console:` section as far as it was read, so the console can
    /// check its key bindings and report them with the other problems.
    pub console: Box<console::ConsoleConfig>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Load and validate every file in `dir`. `proxdeck.yml` is optional (no
    /// clusters); the naming and policy files are required.
    pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
        let mut all = Vec::new();

        let naming_path = dir.join(NAMING_FILE);
        let mut issues = Issues::new(&naming_path);
        let naming_doc = read_doc(&naming_path, true, &mut issues);
        let naming = naming_doc
            .as_ref()
            .and_then(|doc| naming::read(doc, &mut issues));
        all.append(&mut issues.list);

        let policies_path = dir.join(POLICIES_FILE);
        let mut issues = Issues::new(&policies_path);
        let policies_doc = read_doc(&policies_path, false, &mut issues);
        let policies = match &policies_doc {
            Some(doc) => policies::read(doc, &mut issues),
            // No file is no decision: the safe policy, and a word about it.
            None if !issues.has_errors() => {
                issues.warning(
                    yaml::Pos::default(),
                    "",
                    "no action-policies.yml: the safe defaults apply (approval for risky actions, prohibitions on, n8n and monitoring guests protected)",
                );
                Some(policies::PolicyConfig::default())
            }
            None => None,
        };
        if let (Some(naming), Some(doc)) = (&naming, &policies_doc) {
            check_primary_node(naming, doc, &mut issues);
        }
        all.append(&mut issues.list);

        let clusters_path = dir.join(CLUSTERS_FILE);
        let mut issues = Issues::new(&clusters_path);
        let (clusters, console) = read_doc(&clusters_path, false, &mut issues)
            .map(|doc| clusters::read(&doc, dir, &mut issues))
            .unwrap_or_default();
        all.append(&mut issues.list);

        let failed = all.iter().any(|i| i.severity == Severity::Error);
        match (naming, policies) {
            (Some(naming), Some(policies)) if !failed => Ok(Config {
                dir: dir.to_path_buf(),
                clusters,
                naming,
                policies,
                console,
                warnings: all,
            }),
            _ => Err(ConfigErrors {
                issues: all,
                console: Box::new(console),
            }),
        }
    }

    /// The cluster named `name`, or the only one when `name` is `None`.
    pub fn cluster(&self, name: Option<&str>) -> Result<&ClusterConfig, String> {
        match name {
            Some(n) => self.clusters.iter().find(|c| c.name == n).ok_or_else(|| {
                format!(
                    "no cluster named '{n}' in {} (known: {})",
                    self.dir.join(CLUSTERS_FILE).display(),
                    self.cluster_names()
                )
            }),
            None => match self.clusters.as_slice() {
                [one] => Ok(one),
                [] => Err(format!(
                    "no clusters configured: create {} (see config/proxdeck.example.yml), or try `proxdeck demo`",
                    self.dir.join(CLUSTERS_FILE).display()
                )),
                _ => Err(format!(
                    "several clusters are configured ({}); choose one with --cluster",
                    self.cluster_names()
                )),
            },
        }
    }

    fn cluster_names(&self) -> String {
        self.clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Read and parse a YAML file; a missing optional file gives `None` silently.
/// The largest configuration file proxdeck reads (the shipped ones are a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Read a configuration (or secret) file: a regular file (a symlink to one
/// is fine) of at most `MAX_CONFIG_BYTES`, never a device, FIFO or
/// directory, and never more than the limit even if it grows while read.
pub fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // A symlink that points nowhere is a mistake, not a missing file.
        Err(e) if e.kind() == ErrorKind::NotFound && std::fs::symlink_metadata(path).is_ok() => {
            return Err(Error::other(format!(
                "it is a symlink to {}, which does not exist",
                std::fs::read_link(path)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "a missing file".into())
            )));
        }
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(Error::other(
            "it is not a regular file (a device, FIFO, socket or directory)",
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(Error::other(format!(
            "it has {} bytes; configuration files are at most {MAX_CONFIG_BYTES}",
            meta.len()
        )));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::other(format!(
            "it grew past {MAX_CONFIG_BYTES} bytes while being read"
        )));
    }
    Ok(text)
}

fn read_doc(path: &Path, required: bool, issues: &mut Issues) -> Option<yaml::Node> {
    let text = match read_limited(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return None,
        Err(e) => {
            issues.error(
                yaml::Pos::default(),
                "",
                format!("cannot read the file: {e}"),
            );
            return None;
        }
    };
    match yaml::parse(&text) {
        Ok(doc) => Some(doc),
        Err(e) => {
            issues.error(e.pos, "", format!("YAML syntax error: {}", e.message));
            None
        }
    }
}

/// `replication.primary_node` must name a node of the naming convention.
fn check_primary_node(naming: &NamingConfig, doc: &yaml::Node, issues: &mut Issues) {
    let Some(loc) = policies::primary_node_location(doc, issues) else {
        return;
    };
    match naming.node(&loc.value) {
        None if !naming.nodes.is_empty() => issues.error(
            loc.pos,
            &loc.field,
            format!(
                "'{}' is not a node of {NAMING_FILE} (known: {})",
                loc.value,
                naming
                    .nodes
                    .iter()
                    .map(|n| n.pve_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(node) if !node.is_primary_template && naming.primary_node().is_some() => {
            issues.warning(
                loc.pos,
                &loc.field,
                format!(
                    "'{}' is the primary node here but {NAMING_FILE} marks '{}' as is_primary_template",
                    loc.value,
                    naming.primary_node().map(|n| n.name.as_str()).unwrap_or("")
                ),
            )
        }
        _ => {}
    }
}
