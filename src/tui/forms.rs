//! Parameter forms: fields with live validation against the configuration
//! and what the console knows of the cluster. A form only gathers input; the
//! action it builds still goes through the engine's plan and policy.

use std::net::Ipv4Addr;

use ratatui_textarea::TextArea;

use super::world::World;
use crate::config::Config;
use crate::engine::GuestSel;
use crate::ipam::AllocState;
use crate::ipam::ranges::{is_assignable, range_for};
use crate::pve::GuestKind;

/// What a form is for.
#[derive(Debug, Clone, PartialEq)]
pub enum FormPurpose {
    Snapshot {
        guest: GuestSel,
    },
    Replicate {
        guest: GuestSel,
    },
    Clone {
        guest: GuestSel,
    },
    AssignIp {
        guest: GuestSel,
    },
    Reject {
        id: String,
    },
    Backup {
        guest: GuestSel,
    },
    LvmSnapshot {
        node: String,
    },
    Restore {
        volid: String,
        node: String,
        kind: crate::pve::GuestKind,
        guest: Option<GuestSel>,
    },
}

/// How a field's value is checked while it is typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Any,
    Required,
    /// A Proxmox snapshot name not already used on this guest.
    SnapshotName {
        vmid: u32,
    },
    /// Empty (next free) or a free address in the node's range for the type.
    Ipv4 {
        node: String,
        kind: GuestKind,
        vmid: u32,
    },
    /// Empty or a DNS label.
    Hostname,
    /// Empty or a role word the convention accepts.
    Role,
    /// Empty or a name no guest has.
    NewGuestName,
    /// Empty or any IPv4 address (the plan checks it against the chosen node).
    AnyIpv4,
    /// Empty or `20%` / `8G`.
    LvmSize,
    /// Empty or a name LVM accepts.
    LvmName,
}

#[derive(Debug, Clone)]
pub enum Input {
    Text(Box<TextArea<'static>>),
    /// (value, label) pairs.
    Choice {
        options: Vec<(String, String)>,
        selected: usize,
    },
    Toggle(bool),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub label: String,
    pub input: Input,
    pub rule: Rule,
    pub hint: String,
}

impl Field {
    pub fn text(label: &str, value: &str, rule: Rule, hint: &str) -> Field {
        let mut ta = TextArea::new(vec![value.to_string()]);
        ta.move_cursor(ratatui_textarea::CursorMove::End);
        Field {
            label: label.into(),
            input: Input::Text(Box::new(ta)),
            rule,
            hint: hint.into(),
        }
    }

    pub fn choice(label: &str, options: Vec<(String, String)>, hint: &str) -> Field {
        Field {
            label: label.into(),
            input: Input::Choice {
                options,
                selected: 0,
            },
            rule: Rule::Any,
            hint: hint.into(),
        }
    }

    pub fn toggle(label: &str, on: bool, hint: &str) -> Field {
        Field {
            label: label.into(),
            input: Input::Toggle(on),
            rule: Rule::Any,
            hint: hint.into(),
        }
    }

    /// The field's value as text.
    pub fn value(&self) -> String {
        match &self.input {
            Input::Text(t) => t.lines().join("").trim().to_string(),
            Input::Choice { options, selected } => options
                .get(*selected)
                .map(|(v, _)| v.clone())
                .unwrap_or_default(),
            Input::Toggle(b) => b.to_string(),
        }
    }

    pub fn on(&self) -> bool {
        matches!(self.input, Input::Toggle(true))
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    pub title: String,
    pub purpose: FormPurpose,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Set when submitting found a problem.
    pub error: Option<String>,
}

impl Form {
    pub fn new(title: impl Into<String>, purpose: FormPurpose, fields: Vec<Field>) -> Form {
        Form {
            title: title.into(),
            purpose,
            fields,
            focus: 0,
            error: None,
        }
    }

    pub fn get(&self, label: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.label == label)
    }

    /// Every field's problem, in order (empty when the form can be sent).
    pub fn problems(&self, world: &World, config: &Config) -> Vec<(usize, String)> {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                validate(&f.rule, &f.value(), world, config)
                    .err()
                    .map(|e| (i, e))
            })
            .collect()
    }
}

/// Check one value. `Ok` carries nothing; the error says what is wrong.
pub fn validate(rule: &Rule, value: &str, world: &World, config: &Config) -> Result<(), String> {
    match rule {
        Rule::Any => Ok(()),
        Rule::Required => {
            if value.is_empty() {
                Err("required".into())
            } else {
                Ok(())
            }
        }
        Rule::SnapshotName { vmid } => {
            if value.is_empty() {
                return Ok(()); // the policy's safety-snapshot pattern names it
            }
            if !crate::pve::names::is_config_id(value) {
                return Err(
                    "letters, digits, - and _ only, starting with a letter (2-40 characters)"
                        .into(),
                );
            }
            if value == "current" {
                return Err("'current' is Proxmox's name for the running state".into());
            }
            let taken = world
                .snapshots
                .data
                .guests
                .get(vmid)
                .is_some_and(|l| l.iter().any(|s| s.name == value));
            if taken {
                return Err(format!(
                    "guest {vmid} already has a snapshot named '{value}'"
                ));
            }
            Ok(())
        }
        Rule::Ipv4 { node, kind, vmid } => {
            if value.is_empty() {
                return Ok(());
            }
            let ip: Ipv4Addr = value
                .parse()
                .map_err(|_| format!("'{value}' is not an IPv4 address"))?;
            check_ip(ip, node, *kind, *vmid, world, config)
        }
        Rule::Hostname => {
            if value.is_empty() || crate::config::naming::is_dns_label(value) {
                Ok(())
            } else {
                Err("a hostname is letters, digits and '-', at most 63, not starting or ending with '-'".into())
            }
        }
        Rule::NewGuestName => {
            if value.is_empty() {
                Ok(())
            } else if !crate::config::naming::is_dns_label(value) {
                Err("a guest name is letters, digits and '-'".into())
            } else if let Some(g) = world.inv().guests.iter().find(|g| g.name == value) {
                Err(format!("{} ({}) has that name", g.name, g.vmid))
            } else {
                Ok(())
            }
        }
        Rule::AnyIpv4 => match value {
            "" => Ok(()),
            v => v
                .parse::<Ipv4Addr>()
                .map(|_| ())
                .map_err(|_| format!("'{v}' is not an IPv4 address")),
        },
        Rule::LvmSize => match value {
            "" => Ok(()),
            v => crate::lvm::SnapshotSize::parse(v)
                .map(|_| ())
                .ok_or_else(|| "a percentage of the origin (20%) or a size (8G, 512M)".into()),
        },
        Rule::LvmName => {
            if value.is_empty() || crate::lvm::ops::valid_name(value) {
                Ok(())
            } else {
                Err("letters, digits, + _ . -; not starting with '-' or 'snapshot'".into())
            }
        }
        Rule::Role => {
            let roles = &config.naming.roles;
            if value.is_empty() {
                Ok(())
            } else if !crate::config::naming::is_dns_label(value) {
                Err("a role is one DNS-safe word (db, web, av, ...)".into())
            } else if !roles.is_empty() && !roles.iter().any(|r| r == value) {
                Err(format!("not a known role (known: {})", roles.join(", ")))
            } else {
                Ok(())
            }
        }
    }
}

/// An address `vmid` may take on `node`: in the subnet and the type's range,
/// not special, and held by no other guest (records or live configuration).
pub fn check_ip(
    ip: Ipv4Addr,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    world: &World,
    config: &Config,
) -> Result<(), String> {
    let subnet = config
        .naming
        .subnet(node)
        .ok_or_else(|| format!("no subnet configured for node {node}"))?;
    if !subnet.subnet.contains(&ip) {
        return Err(format!("outside {node}'s subnet {}", subnet.subnet));
    }
    if ip == subnet.gateway {
        return Err(format!("{ip} is {node}'s gateway"));
    }
    if !is_assignable(subnet, ip) {
        return Err("the network, broadcast or a reserved address".into());
    }
    let range = range_for(subnet, kind);
    if !range.contains(ip) {
        return Err(format!(
            "outside the {} range {range}",
            crate::ipam::type_name(kind)
        ));
    }
    if let Some(a) = world
        .ip
        .data
        .allocations
        .iter()
        .find(|a| a.ip == ip && a.state != AllocState::Released && a.vmid != Some(vmid))
    {
        return Err(format!("held by {}", a.holder()));
    }
    if let Some(g) = world
        .inv()
        .guests
        .iter()
        .find(|g| g.vmid != vmid && g.nics.iter().any(|n| n.address() == Some(ip)))
    {
        return Err(format!("configured on {} ({})", g.name, g.vmid));
    }
    Ok(())
}

/// The first address `check_ip` accepts, as a suggestion.
pub fn next_free_ip(
    node: &str,
    kind: GuestKind,
    vmid: u32,
    world: &World,
    config: &Config,
) -> Option<Ipv4Addr> {
    let subnet = config.naming.subnet(node)?;
    range_for(subnet, kind)
        .iter()
        .find(|ip| check_ip(*ip, node, kind, vmid, world, config).is_ok())
}
