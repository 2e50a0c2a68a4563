//! Parameter checks with Proxmox's own wording, for the parameters of the
//! endpoints the simulator serves (declared by hand after the official schema).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::error::ApiError;
use crate::pve::propstring::{PropString, QEMU_NIC_MODELS};

/// A parameter's type.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    StrMax(usize),
    Int,
    IntRange(i64, i64),
    Num,
    Bool,
    Enum(&'static [&'static str]),
    VmId,
    VmIdList,
    ConfigId,
    DnsName,
    QemuNet,
    LxcNet,
    IpConfig,
    Disk,
    ConfigIdList,
}

/// One declared parameter. `net[n]` matches `net0`, `net1`, ...
#[derive(Debug, Clone, Copy)]
pub struct P {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

pub const fn req(name: &'static str, ty: Ty) -> P {
    P {
        name,
        ty,
        required: true,
    }
}

pub const fn opt(name: &'static str, ty: Ty) -> P {
    P {
        name,
        ty,
        required: false,
    }
}

/// Request parameters (query or form), by name.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(parse_bool)
    }

    /// Parameters whose names match a declared `prefix[n]`.
    pub fn indexed(&self, prefix: &str) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .filter(|(k, _)| indexed_match(k, prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

fn indexed_match(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn declared<'a>(spec: &'a [P], key: &str) -> Option<&'a P> {
    spec.iter().find(|p| {
        p.name == key
            || p.name
                .strip_suffix("[n]")
                .is_some_and(|prefix| indexed_match(key, prefix))
    })
}

/// Check every parameter against `spec`; all problems are reported together.
/// `path_params` were already taken from the path and are not repeated.
pub fn check(params: &Params, spec: &[P], path_params: &[&str]) -> Result<(), ApiError> {
    let mut errors = BTreeMap::new();
    for (k, v) in &params.0 {
        if path_params.contains(&k.as_str()) {
            continue;
        }
        match declared(spec, k) {
            None => {
                errors.insert(
                    k.clone(),
                    "property is not defined in schema and the schema does not allow additional properties".into(),
                );
            }
            Some(p) => {
                if let Err(e) = check_value(k, v, p.ty) {
                    errors.insert(k.clone(), e);
                }
            }
        }
    }
    for p in spec
        .iter()
        .filter(|p| p.required && !p.name.ends_with("[n]"))
    {
        if params.get(p.name).is_none() && !path_params.contains(&p.name) {
            errors.insert(
                p.name.to_string(),
                "property is missing and it is not optional".into(),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::params(errors))
    }
}

fn type_error(ty: &str, v: &str) -> String {
    format!("type check ('{ty}') failed - got '{v}'")
}

fn check_value(key: &str, v: &str, ty: Ty) -> Result<(), String> {
    match ty {
        Ty::Str => Ok(()),
        Ty::StrMax(n) => {
            if v.chars().count() > n {
                Err(format!("value may only be {n} characters long"))
            } else {
                Ok(())
            }
        }
        Ty::Int => v
            .parse::<i64>()
            .map(|_| ())
            .map_err(|_| type_error("integer", v)),
        Ty::IntRange(min, max) => {
            let n: i64 = v.parse().map_err(|_| type_error("integer", v))?;
            if n < min {
                Err(format!("value must have a minimum value of {min}"))
            } else if n > max {
                Err(format!("value must have a maximum value of {max}"))
            } else {
                Ok(())
            }
        }
        Ty::Num => v
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| type_error("number", v)),
        Ty::Bool => parse_bool(v)
            .map(|_| ())
            .ok_or_else(|| type_error("boolean", v)),
        Ty::Enum(values) => {
            if values.contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "value '{v}' does not have a value in the enumeration '{}'",
                    values.join(", ")
                ))
            }
        }
        Ty::VmId => {
            let n: i64 = v.parse().map_err(|_| type_error("integer", v))?;
            if (100..=999_999_999).contains(&n) {
                Ok(())
            } else {
                Err("invalid format - value does not look like a valid VM ID".into())
            }
        }
        Ty::VmIdList => {
            if v.split([',', ' ', ';'])
                .filter(|s| !s.is_empty())
                .all(|s| s.parse::<u32>().is_ok_and(|n| n >= 100))
            {
                Ok(())
            } else {
                Err(format!(
                    "invalid format - value '{v}' does not look like a valid VM ID"
                ))
            }
        }
        Ty::ConfigId => {
            if is_config_id(v) {
                Ok(())
            } else {
                Err(format!("invalid format - invalid configuration ID '{v}'"))
            }
        }
        Ty::ConfigIdList => {
            match v
                .split([',', ';', ' '])
                .filter(|s| !s.is_empty())
                .find(|s| !is_config_id(s))
            {
                Some(bad) => Err(format!("invalid format - invalid configuration ID '{bad}'")),
                None => Ok(()),
            }
        }
        Ty::DnsName => {
            if is_dns_name(v) {
                Ok(())
            } else {
                Err("invalid format - value does not look like a valid DNS name".into())
            }
        }
        Ty::QemuNet => check_qemu_net(key, v),
        Ty::LxcNet => check_lxc_net(key, v),
        Ty::IpConfig => check_ipconfig(key, v),
        Ty::Disk => PropString::parse(v)
            .map(|_| ())
            .map_err(|_| "invalid format - format error".to_string()),
    }
}

pub use crate::pve::names::is_config_id;

pub fn is_dns_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 255
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn format_error(key: &str, sub: &str, what: &str) -> String {
    format!("invalid format - format error\n{key}.{sub}: invalid format - {what}\n")
}

fn is_unicast_mac(v: &str) -> bool {
    v.parse::<crate::macaddr::MacAddr>()
        .is_ok_and(|m| !m.is_multicast())
}

fn check_props(key: &str, v: &str, allowed: &[&str]) -> Result<PropString, String> {
    let p = PropString::parse(v).map_err(|_| "invalid format - format error".to_string())?;
    for k in p.keys().flatten() {
        if !allowed.contains(&k) {
            return Err(format!(
                "invalid format - invalid key in comma-separated list property: {k}"
            ));
        }
    }
    let _ = key;
    Ok(p)
}

const LXC_NET_KEYS: &[&str] = &[
    "name",
    "bridge",
    "firewall",
    "gw",
    "gw6",
    "host-managed",
    "hwaddr",
    "ip",
    "ip6",
    "link_down",
    "mtu",
    "rate",
    "tag",
    "trunks",
    "type",
];

fn check_lxc_net(key: &str, v: &str) -> Result<(), String> {
    let p = check_props(key, v, LXC_NET_KEYS)?;
    if p.bare().is_some() {
        return Err("invalid format - format error".into());
    }
    if p.get("name").is_none() {
        return Err(format_error(
            key,
            "name",
            "property is missing and it is not optional",
        ));
    }
    if let Some(m) = p.get("hwaddr")
        && !is_unicast_mac(m)
    {
        return Err(format_error(
            key,
            "hwaddr",
            "value does not look like a valid unicast MAC address",
        ));
    }
    if let Some(ip) = p.get("ip")
        && !(ip == "dhcp" || ip == "manual" || ip.parse::<ipnet::Ipv4Net>().is_ok())
    {
        return Err(format_error(
            key,
            "ip",
            "value does not look like a valid IPv4 network configuration",
        ));
    }
    if let Some(gw) = p.get("gw")
        && gw.parse::<Ipv4Addr>().is_err()
    {
        return Err(format_error(
            key,
            "gw",
            "value does not look like a valid IPv4 address",
        ));
    }
    if let Some(tag) = p.get("tag")
        && !tag.parse::<u16>().is_ok_and(|t| (1..=4094).contains(&t))
    {
        return Err(format_error(
            key,
            "tag",
            "value must have a minimum value of 1",
        ));
    }
    Ok(())
}

const QEMU_NET_KEYS: &[&str] = &[
    "model",
    "bridge",
    "firewall",
    "link_down",
    "macaddr",
    "mtu",
    "queues",
    "rate",
    "tag",
    "trunks",
];

fn check_qemu_net(key: &str, v: &str) -> Result<(), String> {
    let mut allowed: Vec<&str> = QEMU_NET_KEYS.to_vec();
    allowed.extend_from_slice(QEMU_NIC_MODELS);
    let p = check_props(key, v, &allowed)?;
    let model = p
        .get("model")
        .map(str::to_string)
        .or_else(|| p.bare().map(str::to_string))
        .or_else(|| {
            p.keys()
                .flatten()
                .find(|k| QEMU_NIC_MODELS.contains(k))
                .map(str::to_string)
        });
    match model {
        Some(m) if QEMU_NIC_MODELS.contains(&m.as_str()) => {}
        Some(m) => {
            return Err(format!(
                "invalid format - format error\n{key}.model: value '{m}' does not have a value in the enumeration '{}'\n",
                QEMU_NIC_MODELS.join(", ")
            ));
        }
        None => {
            return Err(format_error(
                key,
                "model",
                "property is missing and it is not optional",
            ));
        }
    }
    let mac = p
        .get("macaddr")
        .or_else(|| QEMU_NIC_MODELS.iter().find_map(|m| p.get(m)));
    if let Some(m) = mac
        && !is_unicast_mac(m)
    {
        return Err(format_error(
            key,
            "macaddr",
            "value does not look like a valid unicast MAC address",
        ));
    }
    if let Some(tag) = p.get("tag")
        && !tag.parse::<u16>().is_ok_and(|t| (1..=4094).contains(&t))
    {
        return Err(format_error(
            key,
            "tag",
            "value must have a minimum value of 1",
        ));
    }
    Ok(())
}

fn check_ipconfig(key: &str, v: &str) -> Result<(), String> {
    let p = check_props(key, v, &["ip", "gw", "ip6", "gw6"])?;
    if let Some(ip) = p.get("ip")
        && !(ip == "dhcp" || ip == "manual" || ip.parse::<ipnet::Ipv4Net>().is_ok())
    {
        return Err(format_error(
            key,
            "ip",
            "value does not look like a valid ipv4 network configuration",
        ));
    }
    if let Some(gw) = p.get("gw")
        && gw.parse::<Ipv4Addr>().is_err()
    {
        return Err(format_error(
            key,
            "gw",
            "value does not look like a valid IPv4 address",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(&str, &str)]) -> Params {
        Params(
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn reports_every_problem_in_proxmox_words() {
        let spec = [
            req("newid", Ty::VmId),
            opt("full", Ty::Bool),
            opt("mode", Ty::Enum(&["snapshot", "stop"])),
        ];
        let err = check(
            &params(&[("full", "maybe"), ("mode", "fast"), ("colour", "red")]),
            &spec,
            &[],
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(
            err.errors["newid"],
            "property is missing and it is not optional"
        );
        assert_eq!(
            err.errors["full"],
            "type check ('boolean') failed - got 'maybe'"
        );
        assert_eq!(
            err.errors["mode"],
            "value 'fast' does not have a value in the enumeration 'snapshot, stop'"
        );
        assert!(err.errors["colour"].starts_with("property is not defined in schema"));
    }

    #[test]
    fn property_strings() {
        let spec = [opt("net[n]", Ty::LxcNet)];
        let err = check(&params(&[("net0", "bridge=vmbr0,bogus=1")]), &spec, &[]).unwrap_err();
        assert_eq!(
            err.errors["net0"],
            "invalid format - invalid key in comma-separated list property: bogus"
        );
        assert!(
            check(
                &params(&[(
                    "net1",
                    "name=eth0,bridge=vmbr0,hwaddr=02:00:00:A2:65:01,ip=10.0.0.2/24"
                )]),
                &spec,
                &[]
            )
            .is_ok()
        );
        let q = [opt("net[n]", Ty::QemuNet), opt("ipconfig[n]", Ty::IpConfig)];
        assert!(
            check(
                &params(&[("net0", "virtio=02:00:00:A2:65:01,bridge=vmbr0")]),
                &q,
                &[]
            )
            .is_ok()
        );
        assert!(check(&params(&[("net0", "virtio=zz,bridge=vmbr0")]), &q, &[]).is_err());
        assert!(check(&params(&[("ipconfig0", "ip=300.1.1.1/24")]), &q, &[]).is_err());
        // pve-ipv4-config: a CIDR, `dhcp` or `manual`.
        for ok in ["ip=dhcp", "ip=manual", "ip=10.0.0.5/24,gw=10.0.0.1"] {
            assert!(
                check(&params(&[("ipconfig0", ok)]), &q, &[]).is_ok(),
                "{ok}"
            );
        }
    }
}
