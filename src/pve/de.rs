//! Lenient decoding of Proxmox's JSON: Perl's scalars make integers arrive as
//! strings (`/cluster/nextid` → `"100"`, LXC `vmid`), booleans as 0/1, and
//! numbers as floats. These helpers accept every form that real servers send.

use serde::Deserialize;
use serde::de::{self, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
}

impl Scalar {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(*i),
            Scalar::UInt(u) => i64::try_from(*u).ok(),
            Scalar::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::UInt(u) => Some(*u as f64),
            Scalar::Float(f) => Some(*f),
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::Bool(b) => Some(f64::from(u8::from(*b))),
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::Int(i) => Some(*i != 0),
            Scalar::UInt(u) => Some(*u != 0),
            Scalar::Float(f) => Some(*f != 0.0),
            Scalar::Str(s) => match s.as_str() {
                "1" | "true" | "yes" | "on" => Some(true),
                "0" | "false" | "no" | "off" | "" => Some(false),
                _ => None,
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => format!("'{s}'"),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scalar>, D::Error> {
    Option::<Scalar>::deserialize(d)
}

pub fn i64_<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = Scalar::deserialize(d)?;
    s.as_i64()
        .ok_or_else(|| de::Error::custom(format!("expected an integer, got {}", s.describe())))
}

pub fn u32_<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64_(d)?;
    u32::try_from(v).map_err(|_| de::Error::custom(format!("{v} is out of range")))
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match opt(d)? {
        None => Ok(None),
        Some(Scalar::Str(s)) if s.is_empty() => Ok(None),
        Some(s) => s
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer, got {}", s.describe()))),
    }
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(opt_i64(d)?.and_then(|v| u64::try_from(v).ok()))
}

pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(opt_i64(d)?.and_then(|v| u32::try_from(v).ok()))
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match opt(d)? {
        None => Ok(None),
        Some(s) => s
            .as_f64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a number, got {}", s.describe()))),
    }
}

/// 0/1, true/false, "1"/"0"; absent or null is false.
pub fn bool01<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match opt(d)? {
        None => Ok(false),
        Some(s) => s
            .as_bool()
            .ok_or_else(|| de::Error::custom(format!("expected 0 or 1, got {}", s.describe()))),
    }
}

pub fn opt_bool01<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match opt(d)? {
        None => Ok(None),
        Some(s) => s
            .as_bool()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected 0 or 1, got {}", s.describe()))),
    }
}

/// An integer from a JSON number or numeric string (`/cluster/nextid` answers `"100"`).
pub fn int_value(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Any scalar as text (config values: `memory: 1000` and `cpulimit: "0"` alike).
pub fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "u32_")]
        vmid: u32,
        #[serde(default, deserialize_with = "bool01")]
        template: bool,
        #[serde(default, deserialize_with = "opt_f64")]
        cpu: Option<f64>,
        #[serde(default, deserialize_with = "opt_u64")]
        maxmem: Option<u64>,
    }

    #[test]
    fn accepts_every_form_real_servers_send() {
        let a: T = serde_json::from_str(
            r#"{"vmid":"103","template":"1","cpu":0.25,"maxmem":"536870912"}"#,
        )
        .unwrap();
        assert_eq!(
            (a.vmid, a.template, a.cpu, a.maxmem),
            (103, true, Some(0.25), Some(536870912))
        );
        let b: T = serde_json::from_str(r#"{"vmid":103,"template":0,"cpu":1}"#).unwrap();
        assert_eq!(
            (b.vmid, b.template, b.cpu, b.maxmem),
            (103, false, Some(1.0), None)
        );
        let c: T = serde_json::from_str(r#"{"vmid":103}"#).unwrap();
        assert!(!c.template);
        assert!(serde_json::from_str::<T>(r#"{"vmid":"abc"}"#).is_err());
    }
}
