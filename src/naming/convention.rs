//! The naming convention applied to a cluster: compliance, next sequence
//! numbers and hostnames, from `naming-conventions.yml`.

use serde::Serialize;

use super::pattern::Pattern;
use super::render::{NameParts, RenderError};
use crate::config::NamingConfig;

/// Whether a name follows the convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "compliant", rename_all = "snake_case")]
pub enum Compliance {
    #[serde(rename = "true")]
    Compliant(NameParts),
    #[serde(rename = "false")]
    NonCompliant { reason: String },
}

impl Compliance {
    pub fn is_compliant(&self) -> bool {
        matches!(self, Compliance::Compliant(_))
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Compliance::NonCompliant { reason } => Some(reason),
            Compliance::Compliant(_) => None,
        }
    }

    pub fn parts(&self) -> Option<&NameParts> {
        match self {
            Compliance::Compliant(p) => Some(p),
            Compliance::NonCompliant { .. } => None,
        }
    }
}

/// The convention of one configuration.
#[derive(Debug, Clone)]
pub struct Convention<'a> {
    pub config: &'a NamingConfig,
}

impl<'a> Convention<'a> {
    pub fn new(config: &'a NamingConfig) -> Self {
        Convention { config }
    }

    pub fn pattern(&self) -> &Pattern {
        &self.config.pattern
    }

    fn short_nodes(&self) -> Vec<String> {
        self.config.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Whether `name` follows the pattern (and uses a known role, when roles are listed).
    pub fn check(&self, name: &str) -> Compliance {
        match self.config.pattern.match_name(name, &self.short_nodes()) {
            Ok(parts) => {
                if !self.config.roles.is_empty() && !self.config.roles.contains(&parts.role) {
                    return Compliance::NonCompliant {
                        reason: format!(
                            "role '{}' is not one of the convention's roles ({})",
                            parts.role,
                            self.config.roles.join(", ")
                        ),
                    };
                }
                if parts.seq == 0 {
                    return Compliance::NonCompliant {
                        reason: "sequence numbers start at 1".into(),
                    };
                }
                Compliance::Compliant(parts)
            }
            Err(m) => Compliance::NonCompliant {
                reason: format!("does not follow {}: {m}", self.config.pattern),
            },
        }
    }

    /// The parts of a name for `role` number `seq` on `node` (either name form).
    pub fn parts(&self, node: &str, role: &str, seq: u32) -> NameParts {
        let entry = self.config.node(node);
        NameParts {
            node: Some(
                entry
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| node.to_string()),
            ),
            node_num: entry.map(|n| n.number),
            role: role.to_string(),
            seq,
        }
    }

    pub fn name(&self, node: &str, role: &str, seq: u32) -> Result<String, RenderError> {
        self.config.pattern.render(&self.parts(node, role, seq))
    }

    /// The hostname for a guest: its name, unless `hostname_pattern` says otherwise.
    pub fn hostname(&self, node: &str, role: &str, seq: u32) -> Result<String, RenderError> {
        match &self.config.hostname_pattern {
            Some(p) => p.render(&self.parts(node, role, seq)),
            None => self.name(node, role, seq),
        }
    }

    /// The lowest sequence number ≥ 1 that no name in `taken` uses for `role`.
    pub fn next_seq<'n>(&self, role: &str, taken: impl IntoIterator<Item = &'n str>) -> u32 {
        let nodes = self.short_nodes();
        let mut used: Vec<u32> = taken
            .into_iter()
            .filter_map(|n| self.config.pattern.match_name(n, &nodes).ok())
            .filter(|p| p.role == role)
            .map(|p| p.seq)
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut next = 1;
        for u in used {
            if u == next {
                next += 1;
            } else if u > next {
                break;
            }
        }
        next
    }

    /// The role of a guest: from a compliant name, else a tag that is a known role.
    pub fn role_of(&self, name: &str, tags: &[String]) -> Option<String> {
        if let Some(p) = self.check(name).parts() {
            return Some(p.role.clone());
        }
        tags.iter().find(|t| self.config.roles.contains(t)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> Config {
        Config::load(&crate::paths::repo_config_dir()).unwrap()
    }

    #[test]
    fn next_sequence_is_the_lowest_unused_across_the_cluster() {
        let cfg = config();
        let c = Convention::new(&cfg.naming);
        assert_eq!(c.next_seq("web", ["pve-web-01"]), 2);
        assert_eq!(
            c.next_seq("db", ["pve-db-01", "pve-db-03", "pve-web-02"]),
            2
        );
        assert_eq!(c.next_seq("db", ["pve-db-02"]), 1);
        assert_eq!(c.next_seq("av", ["n8n", "monitoring-db"]), 1);
    }

    #[test]
    fn compliance_gives_reasons() {
        let cfg = config();
        let c = Convention::new(&cfg.naming);
        assert!(c.check("pve-db-01").is_compliant());
        assert_eq!(
            c.check("pve-mail-01").reason(),
            Some("role 'mail' is not one of the convention's roles (db, web, av, test, app)")
        );
        assert!(
            c.check("n8n")
                .reason()
                .unwrap()
                .starts_with("does not follow pve-{type}-{seq:02d}: expected 'pve-'")
        );
        assert_eq!(c.name("pve-node-02", "db", 2).unwrap(), "pve-db-02");
        assert_eq!(c.hostname("node-02", "db", 2).unwrap(), "pve-db-02");
        assert_eq!(
            c.role_of("legacy-box", &["web".to_string()]),
            Some("web".into())
        );
    }
}
