//! Guests: list, status, config (read and change).

use super::Call;
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::metrics;
use crate::sim::model::{Model, SimGuest};
use crate::sim::validate::{P, Ty, opt};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn list_item(g: &SimGuest) -> Value {
    let mut e = json!({
        "vmid": g.vmid, "status": g.status(), "name": g.name(), "cpus": g.cpus(), "cpu": metrics::guest_cpu(g),
        "maxmem": g.maxmem(), "mem": metrics::guest_mem(g), "maxdisk": g.maxdisk(), "uptime": metrics::guest_uptime(g),
        "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    });
    let o = e.as_object_mut().expect("object");
    if g.template() {
        o.insert("template".into(), json!(1));
    }
    if let Some(l) = g.lock() {
        o.insert("lock".into(), json!(l));
    }
    if let Some(t) = g.config.get("tags") {
        o.insert("tags".into(), json!(t));
    }
    match g.kind {
        GuestKind::Qemu => {
            o.insert("qmpstatus".into(), json!(g.status()));
            o.insert("disk".into(), json!(0));
        }
        GuestKind::Lxc => {
            o.insert("type".into(), json!("lxc"));
            o.insert("disk".into(), json!(metrics::guest_disk(g)));
            o.insert("maxswap".into(), json!(536_870_912u64));
        }
    }
    e
}

pub fn list(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
) -> Result<Value, ApiError> {
    let spec: &[P] = match kind {
        GuestKind::Qemu => &[opt("full", Ty::Bool)],
        GuestKind::Lxc => &[],
    };
    call.check(spec, &["node"])?;
    Ok(Value::Array(
        model
            .guests
            .values()
            .filter(|g| g.node == node && g.kind == kind)
            .filter(|g| {
                call.require(&format!("/vms/{}", g.vmid), "VM.Audit")
                    .is_ok()
            })
            .map(list_item)
            .collect(),
    ))
}

pub fn status(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(&[], &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Audit")?;
    let g = model.guest(node, kind, vmid)?;
    let mut e = list_item(g);
    e.as_object_mut()
        .expect("object")
        .insert("ha".into(), json!({"managed": 0}));
    Ok(e)
}

pub fn config(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(
        &[opt("current", Ty::Bool), opt("snapshot", Ty::ConfigId)],
        &["node", "vmid"],
    )?;
    call.require(&format!("/vms/{vmid}"), "VM.Audit")?;
    let g = model.guest(node, kind, vmid)?;
    let cfg = match call.params.get("snapshot") {
        Some(s) => {
            &g.snapshots
                .get(s)
                .ok_or_else(|| ApiError::server(format!("snapshot '{s}' does not exist")))?
                .config
        }
        None if call.params.flag("current") == Some(true) => &g.config,
        None => &g.config_with_pending(),
    };
    Ok(config_json(kind, cfg))
}

/// Keys the schema declares as integers or booleans go out as numbers, the
/// rest as text (qemu `memory` is a property string since PVE 8).
fn config_json(kind: GuestKind, cfg: &BTreeMap<String, String>) -> Value {
    let numeric: &[&str] = match kind {
        GuestKind::Qemu => &[
            "cores",
            "sockets",
            "template",
            "onboot",
            "balloon",
            "protection",
            "vcpus",
            "cpuunits",
        ],
        GuestKind::Lxc => &[
            "memory",
            "cores",
            "swap",
            "cpuunits",
            "template",
            "onboot",
            "protection",
            "unprivileged",
            "tty",
            "console",
        ],
    };
    let mut out = serde_json::Map::new();
    for (k, v) in cfg {
        let value = match (numeric.contains(&k.as_str()), v.parse::<i64>()) {
            (true, Ok(n)) => json!(n),
            _ => json!(v),
        };
        out.insert(k.clone(), value);
    }
    Value::Object(out)
}

const QEMU_CONFIG_SPEC: &[P] = &[
    opt("name", Ty::DnsName),
    opt("memory", Ty::Int),
    opt("cores", Ty::IntRange(1, 1024)),
    opt("sockets", Ty::IntRange(1, 4)),
    opt("cpu", Ty::Str),
    opt("description", Ty::StrMax(8192)),
    opt("tags", Ty::Str),
    opt("onboot", Ty::Bool),
    opt("net[n]", Ty::QemuNet),
    opt("ipconfig[n]", Ty::IpConfig),
    opt("nameserver", Ty::Str),
    opt("searchdomain", Ty::Str),
    opt("ciuser", Ty::Str),
    opt("cipassword", Ty::Str),
    opt("sshkeys", Ty::Str),
    opt("agent", Ty::Str),
    opt("boot", Ty::Str),
    opt(
        "ostype",
        Ty::Enum(&[
            "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11",
            "l24", "l26", "solaris",
        ]),
    ),
    opt("scsihw", Ty::Str),
    opt("scsi[n]", Ty::Disk),
    opt("virtio[n]", Ty::Disk),
    opt("ide[n]", Ty::Disk),
    opt("sata[n]", Ty::Disk),
    opt("balloon", Ty::Int),
    opt("protection", Ty::Bool),
    opt("startup", Ty::Str),
    opt("delete", Ty::ConfigIdList),
    opt("digest", Ty::StrMax(40)),
    opt("revert", Ty::ConfigIdList),
    opt("skiplock", Ty::Bool),
    opt("vmgenid", Ty::Str),
];

const QEMU_CONFIG_POST_EXTRA: &[P] = &[opt("background_delay", Ty::IntRange(1, 30))];

const LXC_CONFIG_SPEC: &[P] = &[
    opt("hostname", Ty::DnsName),
    opt("memory", Ty::Int),
    opt("swap", Ty::Int),
    opt("cores", Ty::IntRange(1, 8192)),
    opt("cpulimit", Ty::Num),
    opt("cpuunits", Ty::Int),
    opt("description", Ty::StrMax(8192)),
    opt("tags", Ty::Str),
    opt("onboot", Ty::Bool),
    opt("net[n]", Ty::LxcNet),
    opt("nameserver", Ty::Str),
    opt("searchdomain", Ty::Str),
    opt("rootfs", Ty::Disk),
    opt("mp[n]", Ty::Disk),
    opt("ostype", Ty::Str),
    opt("arch", Ty::Str),
    opt("unprivileged", Ty::Bool),
    opt("features", Ty::Str),
    opt("protection", Ty::Bool),
    opt("startup", Ty::Str),
    opt("delete", Ty::ConfigIdList),
    opt("digest", Ty::StrMax(40)),
    opt("revert", Ty::ConfigIdList),
];

/// PUT (sync, answers null) or qemu POST (answers null when nothing needs a worker).
pub fn set_config(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    post: bool,
) -> Result<Value, ApiError> {
    let mut spec: Vec<P> = match kind {
        GuestKind::Qemu => QEMU_CONFIG_SPEC.to_vec(),
        GuestKind::Lxc => LXC_CONFIG_SPEC.to_vec(),
    };
    if post {
        spec.extend_from_slice(QEMU_CONFIG_POST_EXTRA);
    }
    call.check(&spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Config.Options")?;
    model.guest(node, kind, vmid)?;
    model.check_config_lock(kind, vmid)?;
    let new_digest = model.digest();
    let g = model.guest_mut(node, kind, vmid)?;
    if call.params.flag("skiplock") != Some(true) {
        Model::check_lock(g)?;
    }
    if let Some(d) = call.params.get("digest")
        && g.config.get("digest").map(String::as_str) != Some(d)
    {
        return Err(ApiError::server(
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    // A running VM that does not hot-plug NICs takes a NIC change at its
    // next start; everything else here applies at once.
    let defer_nics = kind == GuestKind::Qemu && g.running && !g.hotplugs_network();
    for (k, v) in &call.params.0 {
        if matches!(
            k.as_str(),
            "delete" | "digest" | "revert" | "skiplock" | "background_delay" | "node" | "vmid"
        ) {
            continue;
        }
        let nic = k
            .strip_prefix("net")
            .is_some_and(|i| i.parse::<u32>().is_ok());
        if defer_nics && nic {
            g.pending.insert(k.clone(), v.clone());
        } else {
            g.config.insert(k.clone(), v.clone());
        }
    }
    if let Some(del) = call.params.get("delete") {
        for key in del.split([',', ';', ' ']).filter(|s| !s.is_empty()) {
            g.config.remove(key);
        }
    }
    g.config.insert("digest".into(), new_digest);
    Ok(Value::Null)
}
