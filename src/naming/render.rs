//! Rendering names from parts, and parsing names back into parts.

use std::fmt;

use super::pattern::{Pattern, Segment};

/// What a name is made of.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameParts {
    /// The node's short name (`node-02`), when the pattern uses it.
    pub node: Option<String>,
    pub node_num: Option<u32>,
    /// The role (`db`, `web`, ...).
    pub role: String,
    pub seq: u32,
}

/// Why a name could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the pattern {0} needs the node, but none was given")]
    MissingNode(String),
    #[error(
        "'{0}' is not a valid hostname (RFC 1123: labels of a-z, 0-9 and '-', at most 63 characters, not starting or ending with '-')"
    )]
    NotDnsSafe(String),
    #[error("role '{0}' is not DNS-safe (a-z, 0-9, '-')")]
    BadRole(String),
}

fn pad(n: u32, width: usize) -> String {
    format!("{n:0width$}")
}

impl Pattern {
    /// Make a name. The result is checked to be a valid hostname.
    pub fn render(&self, parts: &NameParts) -> Result<String, RenderError> {
        if !is_label_text(&parts.role) {
            return Err(RenderError::BadRole(parts.role.clone()));
        }
        let mut out = String::new();
        for seg in self.segments() {
            match seg {
                Segment::Literal(l) => out.push_str(l),
                Segment::Type => out.push_str(&parts.role),
                Segment::Seq { width } => out.push_str(&pad(parts.seq, *width)),
                Segment::Node => out.push_str(
                    parts
                        .node
                        .as_deref()
                        .ok_or_else(|| RenderError::MissingNode(self.source().to_string()))?,
                ),
                Segment::NodeNum { width } => out.push_str(&pad(
                    parts
                        .node_num
                        .ok_or_else(|| RenderError::MissingNode(self.source().to_string()))?,
                    *width,
                )),
            }
        }
        if !is_hostname(&out) {
            return Err(RenderError::NotDnsSafe(out));
        }
        Ok(out)
    }

    /// Parse a name into its parts. `nodes` are the known short node names
    /// (a node placeholder only matches one of them, which keeps `-` unambiguous).
    pub fn match_name(&self, name: &str, nodes: &[String]) -> Result<NameParts, Mismatch> {
        let mut best = Mismatch {
            at: 0,
            expected: String::new(),
            depth: 0,
        };
        let mut parts = NameParts {
            node: None,
            node_num: None,
            role: String::new(),
            seq: 0,
        };
        if self.match_from(name, 0, 0, nodes, &mut parts, &mut best) {
            Ok(parts)
        } else {
            Err(best)
        }
    }

    fn match_from(
        &self,
        name: &str,
        pos: usize,
        seg: usize,
        nodes: &[String],
        parts: &mut NameParts,
        best: &mut Mismatch,
    ) -> bool {
        let segs = self.segments();
        if seg == segs.len() {
            if pos == name.len() {
                return true;
            }
            best.note(seg, pos, "the end of the name");
            return false;
        }
        let rest = &name[pos..];
        match &segs[seg] {
            Segment::Literal(l) => {
                if rest.starts_with(l.as_str()) {
                    self.match_from(name, pos + l.len(), seg + 1, nodes, parts, best)
                } else {
                    best.note(seg, pos, &format!("'{l}'"));
                    false
                }
            }
            Segment::Seq { width } | Segment::NodeNum { width } => {
                let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    best.note(seg, pos, "a number");
                    return false;
                }
                let text = &rest[..digits];
                let Ok(n) = text.parse::<u32>() else {
                    best.note(seg, pos, "a smaller number");
                    return false;
                };
                if pad(n, *width) != text {
                    best.note(seg, pos, &format!("a number written with {width} digits"));
                    return false;
                }
                let is_seq = matches!(segs[seg], Segment::Seq { .. });
                let saved = (parts.seq, parts.node_num);
                if is_seq {
                    parts.seq = n;
                } else {
                    parts.node_num = Some(n);
                }
                if self.match_from(name, pos + digits, seg + 1, nodes, parts, best) {
                    return true;
                }
                (parts.seq, parts.node_num) = saved;
                false
            }
            Segment::Node => {
                for n in nodes {
                    if rest.starts_with(n.as_str()) {
                        let saved = parts.node.replace(n.clone());
                        if self.match_from(name, pos + n.len(), seg + 1, nodes, parts, best) {
                            return true;
                        }
                        parts.node = saved;
                    }
                }
                best.note(seg, pos, &format!("a node name ({})", nodes.join(", ")));
                false
            }
            Segment::Type => {
                // A role is [a-z0-9]+ with inner '-'; try every length, shortest first.
                let len = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .count();
                for end in 1..=len {
                    let role = &rest[..end];
                    if role.starts_with('-') || role.ends_with('-') {
                        continue;
                    }
                    let saved = std::mem::replace(&mut parts.role, role.to_string());
                    if self.match_from(name, pos + end, seg + 1, nodes, parts, best) {
                        return true;
                    }
                    parts.role = saved;
                }
                best.note(seg, pos, "a role (a-z, 0-9)");
                false
            }
        }
    }
}

/// Where a name stopped matching its pattern, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub at: usize,
    pub expected: String,
    /// How many pattern segments matched before the failure.
    depth: usize,
}

impl Mismatch {
    /// Keep the failure that matched most of the pattern, then the furthest
    /// into the name: it explains the name best.
    fn note(&mut self, depth: usize, at: usize, expected: &str) {
        if (depth, at) > (self.depth, self.at) || self.expected.is_empty() {
            self.depth = depth;
            self.at = at;
            self.expected = expected.to_string();
        } else if (depth, at) == (self.depth, self.at) && !self.expected.contains(expected) {
            self.expected = format!("{} or {expected}", self.expected);
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at character {}", self.expected, self.at + 1)
    }
}

fn is_label_text(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 hostname: dot-separated labels of 1-63 characters, 253 at most.
pub fn is_hostname(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|l| l.len() <= 63 && is_label_text(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<String> {
        vec!["node-01".into(), "node-02".into(), "node-10".into()]
    }

    #[test]
    fn renders_and_parses_the_design_names() {
        let p = Pattern::parse("pve-{type}-{seq:02d}").unwrap();
        let parts = NameParts {
            node: None,
            node_num: None,
            role: "db".into(),
            seq: 2,
        };
        assert_eq!(p.render(&parts).unwrap(), "pve-db-02");
        assert_eq!(p.match_name("pve-db-02", &nodes()).unwrap(), parts);
        assert_eq!(p.match_name("pve-web-13", &nodes()).unwrap().seq, 13);
        // Roles may hold a dash; the sequence still parses.
        assert_eq!(
            p.match_name("pve-file-srv-03", &nodes()).unwrap().role,
            "file-srv"
        );
    }

    #[test]
    fn node_patterns_need_known_nodes() {
        let p = Pattern::parse("pve-{node}-{type}-{seq:02d}").unwrap();
        let parts = NameParts {
            node: Some("node-02".into()),
            node_num: None,
            role: "web".into(),
            seq: 1,
        };
        assert_eq!(p.render(&parts).unwrap(), "pve-node-02-web-01");
        assert_eq!(p.match_name("pve-node-02-web-01", &nodes()).unwrap(), parts);
        let err = p.match_name("pve-node-07-web-01", &nodes()).unwrap_err();
        assert!(err.expected.contains("a node name"), "{err}");
        assert_eq!(
            p.render(&NameParts {
                node: None,
                ..parts
            }),
            Err(RenderError::MissingNode(
                "pve-{node}-{type}-{seq:02d}".into()
            ))
        );
    }

    #[test]
    fn mismatches_say_what_was_expected_where() {
        let p = Pattern::parse("pve-{type}-{seq:02d}").unwrap();
        assert_eq!(
            p.match_name("db-01", &nodes()).unwrap_err().to_string(),
            "expected 'pve-' at character 1"
        );
        assert_eq!(
            p.match_name("pve-db-1", &nodes()).unwrap_err().to_string(),
            "expected a number written with 2 digits at character 8"
        );
        assert!(p.match_name("pve-DB-01", &nodes()).is_err());
        assert!(p.match_name("pve-db-01x", &nodes()).is_err());
    }

    #[test]
    fn unsafe_hostnames_are_refused() {
        let p = Pattern::parse("{type}-{seq}").unwrap();
        let long = "a".repeat(70);
        let err = p
            .render(&NameParts {
                node: None,
                node_num: None,
                role: long,
                seq: 1,
            })
            .unwrap_err();
        assert!(matches!(err, RenderError::NotDnsSafe(_)));
        assert!(
            p.render(&NameParts {
                node: None,
                node_num: None,
                role: "Bad".into(),
                seq: 1
            })
            .is_err()
        );
    }
}
