//! A located YAML tree for configuration files.
//!
//! serde's derive stops at the first error, but `check-config` must report every
//! problem in a file at once, each with its line and column. So configuration files
//! are first read into this small tree, where every key and value keeps its source
//! location, and the typed readers in the sibling modules walk it while collecting
//! errors instead of returning on the first one.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A line/column position in a file (1-based; 0 when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML node with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The value of a node. Scalars keep their YAML type so that `"30"` and `30` can be told apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order, each with its own position.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Value {
    /// The YAML type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parse a YAML document into a located tree. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    if text.trim().is_empty() {
        return Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        });
    }
    let spanned: Spanned<Value> = serde_saphyr::from_str(text).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or_default();
        ParseError {
            pos,
            message: first_line(&e.to_string()),
        }
    })?;
    Ok(Node {
        pos: pos_of(&spanned),
        value: spanned.value,
    })
}

/// A YAML syntax error.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

fn pos_of<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line(),
        column: s.referenced.column(),
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(Node {
                pos: pos_of(&item),
                value: item.value,
            });
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            entries.push((
                Key {
                    name: key.value.0.clone(),
                    pos: pos_of(&key),
                },
                Node {
                    pos: pos_of(&value),
                    value: value.value,
                },
            ));
        }
        Ok(Value::Map(entries))
    }
}

/// Mapping keys as text, whatever scalar type YAML gave them (`1: x` is key "1").
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Str(s) => Ok(KeyText(s)),
            Value::Int(i) => Ok(KeyText(i.to_string())),
            Value::Bool(b) => Ok(KeyText(b.to_string())),
            Value::Float(f) => Ok(KeyText(f.to_string())),
            Value::Null => Ok(KeyText("null".into())),
            other => Err(de::Error::custom(format!(
                "a mapping key must be a scalar, not {}",
                other.type_name()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = parse("a: 1\nb:\n  - x\n  - {c: true}\n").unwrap();
        let Value::Map(entries) = &doc.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.name, "a");
        assert_eq!(entries[0].0.pos, Pos { line: 1, column: 1 });
        assert_eq!(entries[0].1.value, Value::Int(1));
        assert_eq!(entries[0].1.pos, Pos { line: 1, column: 4 });
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(items[0].pos.line, 3);
        assert_eq!(items[1].pos.line, 4);
        let Value::Map(inner) = &items[1].value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].1.value, Value::Bool(true));
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let doc = parse("a: \"30\"\n").unwrap();
        let Value::Map(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[0].1.value, Value::Str("30".into()));
    }
}
