//! Naming patterns such as `pve-{type}-{seq:02d}` or `pve-{node}-{type}-{seq:02d}`.
//!
//! A pattern is parsed once into segments; the same segments render a name from
//! its parts and parse a name back into its parts, so the two can never disagree.

use std::fmt;

/// One piece of a naming pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// The node's short name, e.g. `node-02`.
    Node,
    /// The node's number, optionally zero-padded to a width.
    NodeNum {
        width: usize,
    },
    /// The guest's role, e.g. `db`, `web`.
    Type,
    /// The sequence number, optionally zero-padded to a width.
    Seq {
        width: usize,
    },
}

/// A parsed naming pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    segments: Vec<Segment>,
}

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error(
        "unknown placeholder {{{0}}} (known: {{node}}, {{node_num}}, {{type}}, {{seq}}, {{seq:02d}})"
    )]
    UnknownPlaceholder(String),
    #[error("unclosed '{{' at character {0}")]
    Unclosed(usize),
    #[error("stray '}}' at character {0}")]
    StrayClose(usize),
    #[error("bad format '{0}' (expected a zero-padded width such as 02d)")]
    BadFormat(String),
    #[error("the pattern needs a {{seq}} placeholder, or names could not be told apart")]
    MissingSeq,
    #[error("the pattern needs a {{type}} placeholder, or roles could not be told apart")]
    MissingType,
    #[error(
        "placeholders {{{0}}} and {{{1}}} touch; put a literal between them so names can be parsed back"
    )]
    Adjacent(String, String),
}

impl Pattern {
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(PatternError::Unclosed(i));
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(placeholder(&inner)?);
                }
                '}' => return Err(PatternError::StrayClose(i)),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        if !segments.iter().any(|s| matches!(s, Segment::Seq { .. })) {
            return Err(PatternError::MissingSeq);
        }
        if !segments.contains(&Segment::Type) {
            return Err(PatternError::MissingType);
        }
        for pair in segments.windows(2) {
            if !matches!(pair[0], Segment::Literal(_)) && !matches!(pair[1], Segment::Literal(_)) {
                return Err(PatternError::Adjacent(
                    pair[0].name().to_string(),
                    pair[1].name().to_string(),
                ));
            }
        }
        Ok(Pattern {
            source: source.to_string(),
            segments,
        })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern mentions the node (then names differ per node).
    pub fn uses_node(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Node | Segment::NodeNum { .. }))
    }
}

impl Segment {
    fn name(&self) -> &'static str {
        match self {
            Segment::Literal(_) => "literal",
            Segment::Node => "node",
            Segment::NodeNum { .. } => "node_num",
            Segment::Type => "type",
            Segment::Seq { .. } => "seq",
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn placeholder(inner: &str) -> Result<Segment, PatternError> {
    let (name, format) = match inner.split_once(':') {
        Some((n, f)) => (n, Some(f)),
        None => (inner, None),
    };
    let width = match format {
        None => 0,
        Some(f) => parse_width(f)?,
    };
    match (name, format) {
        ("node", None) => Ok(Segment::Node),
        ("type", None) => Ok(Segment::Type),
        ("node_num", _) => Ok(Segment::NodeNum { width }),
        ("seq", _) => Ok(Segment::Seq { width }),
        _ => Err(PatternError::UnknownPlaceholder(inner.to_string())),
    }
}

/// `02d` → 2, `3d` → 3, `d` → 0.
fn parse_width(f: &str) -> Result<usize, PatternError> {
    let digits = f
        .strip_suffix('d')
        .ok_or_else(|| PatternError::BadFormat(f.to_string()))?;
    if digits.is_empty() {
        return Ok(0);
    }
    digits
        .parse::<usize>()
        .ok()
        .filter(|w| *w <= 9)
        .ok_or_else(|| PatternError::BadFormat(f.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_patterns() {
        let p = Pattern::parse("pve-{type}-{seq:02d}").unwrap();
        assert_eq!(
            p.segments(),
            &[
                Segment::Literal("pve-".into()),
                Segment::Type,
                Segment::Literal("-".into()),
                Segment::Seq { width: 2 }
            ]
        );
        assert!(!p.uses_node());
        let p = Pattern::parse("pve-{node}-{type}-{seq:02d}").unwrap();
        assert!(p.uses_node());
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            Pattern::parse("pve-{role}-{seq}"),
            Err(PatternError::UnknownPlaceholder("role".into()))
        );
        assert_eq!(
            Pattern::parse("pve-{type-{seq}"),
            Err(PatternError::UnknownPlaceholder("type-{seq".into()))
        );
        assert_eq!(
            Pattern::parse("pve-{type}-{seq"),
            Err(PatternError::Unclosed(11))
        );
        assert_eq!(Pattern::parse("pve-{type}"), Err(PatternError::MissingSeq));
        assert_eq!(Pattern::parse("pve-{seq}"), Err(PatternError::MissingType));
        assert_eq!(
            Pattern::parse("pve-{type}{seq}"),
            Err(PatternError::Adjacent("type".into(), "seq".into()))
        );
        assert_eq!(
            Pattern::parse("pve-{type}-{seq:2x}"),
            Err(PatternError::BadFormat("2x".into()))
        );
    }
}
