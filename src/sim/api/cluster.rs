//! Cluster-wide and node reads: version, resources, status, nextid, nodes,
//! node status, network, storages.

use serde_json::{Value, json};

use super::Call;
use crate::sim::error::ApiError;
use crate::sim::metrics;
use crate::sim::model::Model;
use crate::sim::validate::{Ty, opt};

pub fn version(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(&[], &[])?;
    let release: String = model
        .version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    Ok(
        json!({"version": model.version, "release": release, "repoid": "4b06efb5db453f29", "console": "xtermjs"}),
    )
}

pub fn resources(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(
        &[opt("type", Ty::Enum(&["vm", "storage", "node", "sdn"]))],
        &[],
    )?;
    let filter = call.params.get("type");
    let mut out = Vec::new();
    if filter.is_none() || filter == Some("node") {
        for n in model.nodes.values() {
            let status = if n.online { "online" } else { "offline" };
            let mut e = json!({
                "id": format!("node/{}", n.name), "type": "node", "node": n.name, "status": status,
                "level": "", "cgroup-mode": 2,
            });
            if n.online {
                let o = e.as_object_mut().expect("object");
                o.insert("cpu".into(), json!(metrics::node_cpu(model, n)));
                o.insert("maxcpu".into(), json!(n.cpus));
                o.insert("mem".into(), json!(metrics::node_mem(model, n)));
                o.insert("maxmem".into(), json!(n.maxmem));
                o.insert("disk".into(), json!(12_884_901_888u64));
                o.insert("maxdisk".into(), json!(100_861_726_720u64));
                o.insert("uptime".into(), json!(metrics::node_uptime(n)));
            }
            out.push(e);
        }
    }
    if filter.is_none() || filter == Some("vm") {
        for g in model.guests.values() {
            let online = model.nodes.get(&g.node).is_some_and(|n| n.online);
            let mut e = json!({
                "id": format!("{}/{}", g.kind, g.vmid), "type": g.kind.as_str(), "vmid": g.vmid,
                "name": g.name(), "node": g.node,
                "status": if online { g.status() } else { "unknown" },
                "template": u8::from(g.template()),
                "maxcpu": g.cpus(), "maxmem": g.maxmem(), "maxdisk": g.maxdisk(),
                "cpu": metrics::guest_cpu(g), "mem": metrics::guest_mem(g),
                "disk": if g.kind == crate::pve::GuestKind::Lxc { metrics::guest_disk(g) } else { 0 },
                "uptime": metrics::guest_uptime(g),
                "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
            });
            let o = e.as_object_mut().expect("object");
            if let Some(tags) = g.config.get("tags") {
                o.insert("tags".into(), json!(tags));
            }
            if let Some(lock) = g.lock() {
                o.insert("lock".into(), json!(lock));
            }
            out.push(e);
        }
    }
    if filter.is_none() || filter == Some("storage") {
        for n in model.nodes.values() {
            for s in model.storages.iter().filter(|s| s.on_node(&n.name)) {
                let used: u64 = model.volumes(&s.id, &n.name).iter().map(|v| v.size).sum();
                out.push(json!({
                    "id": format!("storage/{}/{}", n.name, s.id), "type": "storage", "storage": s.id,
                    "node": n.name, "status": if n.online { "available" } else { "unknown" },
                    "plugintype": s.kind, "content": s.content.join(","), "shared": u8::from(s.shared),
                    "disk": used, "maxdisk": s.total,
                }));
            }
        }
    }
    Ok(Value::Array(out))
}

pub fn status(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(&[], &[])?;
    let online = model.nodes.values().filter(|n| n.online).count();
    let mut out = vec![json!({
        "type": "cluster", "id": "cluster", "name": model.cluster_name, "nodes": model.nodes.len(),
        "quorate": u8::from(online * 2 > model.nodes.len()), "version": model.nodes.len() + 2,
    })];
    for (i, n) in model.nodes.values().enumerate() {
        out.push(json!({
            "type": "node", "id": format!("node/{}", n.name), "name": n.name, "nodeid": i + 1,
            "online": u8::from(n.online), "ip": n.ip, "local": u8::from(i == 0), "level": "",
        }));
    }
    Ok(Value::Array(out))
}

pub fn next_id(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(&[opt("vmid", Ty::VmId)], &[])?;
    if let Some(id) = call.params.int("vmid") {
        let id = id as u32;
        if model.guests.contains_key(&id) {
            return Err(ApiError::param("vmid", format!("VM {id} already exists")));
        }
        return Ok(json!(id.to_string()));
    }
    // Proxmox answers the id as a string.
    Ok(json!(model.next_free_vmid().to_string()))
}

pub fn nodes(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(&[], &[])?;
    Ok(Value::Array(
        model
            .nodes
            .values()
            .map(|n| {
                let mut e = json!({
                    "node": n.name, "status": if n.online { "online" } else { "offline" },
                    "id": format!("node/{}", n.name), "type": "node", "level": "",
                    "ssl_fingerprint": "4B:06:EF:B5:DB:45:3F:29:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00",
                });
                if n.online {
                    let o = e.as_object_mut().expect("object");
                    o.insert("cpu".into(), json!(metrics::node_cpu(model, n)));
                    o.insert("maxcpu".into(), json!(n.cpus));
                    o.insert("mem".into(), json!(metrics::node_mem(model, n)));
                    o.insert("maxmem".into(), json!(n.maxmem));
                    o.insert("uptime".into(), json!(metrics::node_uptime(n)));
                }
                e
            })
            .collect(),
    ))
}

pub fn node_status(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(&[], &["node"])?;
    call.require(&format!("/nodes/{node}"), "Sys.Audit")?;
    let n = model.node(node)?;
    let cpu = metrics::node_cpu(model, n);
    let mem = metrics::node_mem(model, n);
    let load = cpu * f64::from(n.cpus);
    Ok(json!({
        "cpu": cpu,
        "loadavg": [format!("{load:.2}"), format!("{:.2}", load * 0.9), format!("{:.2}", load * 0.8)],
        "memory": {"total": n.maxmem, "used": mem, "free": n.maxmem - mem, "available": n.maxmem - mem},
        "swap": {"total": 8_589_930_496u64, "used": 0, "free": 8_589_930_496u64},
        "rootfs": {"total": 100_861_726_720u64, "used": 12_884_901_888u64, "free": 87_976_824_832u64, "avail": 82_800_000_000u64},
        "cpuinfo": {"model": "Simulated CPU @ 3.00GHz", "cpus": n.cpus, "cores": n.cpus / 2, "sockets": 1, "mhz": "3000.000", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae"},
        "current-kernel": {"sysname": "Linux", "release": "6.14.8-2-pve", "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2", "machine": "x86_64"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "pveversion": format!("pve-manager/{}/4b06efb5db453f29", model.version),
        "kversion": "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2",
        "uptime": metrics::node_uptime(n),
        "idle": 0, "wait": 0.0,
        "ksm": {"shared": 0},
    }))
}

/// `GET /nodes/{node}/time`: UTC seconds, the same wall clock read as if it
/// were UTC (`localtime`), and the zone name.
pub fn node_time(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(&[], &["node"])?;
    call.require(&format!("/nodes/{node}"), "Sys.Audit")?;
    let n = model.node(node)?;
    let now = crate::sim::model::now_unix();
    let offset = crate::timefmt::in_zone(now, &n.zone()).offset().seconds();
    Ok(json!({"timezone": n.timezone, "time": now, "localtime": now + i64::from(offset)}))
}

pub fn network(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(
        &[opt(
            "type",
            Ty::Enum(&[
                "bridge",
                "bond",
                "eth",
                "alias",
                "vlan",
                "fabric",
                "OVSBridge",
                "OVSBond",
                "OVSPort",
                "OVSIntPort",
                "vnet",
                "any_bridge",
                "any_local_bridge",
                "include_sdn",
            ]),
        )],
        &["node"],
    )?;
    let n = model.node(node)?;
    let ip = n.ip.clone();
    let gw = ip
        .rsplit_once('.')
        .map(|(net, _)| format!("{net}.1"))
        .unwrap_or_default();
    let all = vec![
        json!({"iface": "eno1", "type": "eth", "method": "manual", "method6": "manual", "families": ["inet"], "priority": 2, "active": 1, "exists": 1}),
        json!({"iface": "vmbr0", "type": "bridge", "method": "static", "method6": "manual", "families": ["inet"], "priority": 3,
               "active": 1, "autostart": 1, "address": ip, "netmask": "24", "cidr": format!("{ip}/24"), "gateway": gw,
               "bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0"}),
    ];
    let filter = call.params.get("type");
    Ok(Value::Array(
        all.into_iter()
            .filter(|i| match filter {
                None => true,
                Some("any_bridge") | Some("any_local_bridge") => i["type"] == "bridge",
                Some(t) => i["type"] == t,
            })
            .collect(),
    ))
}

pub fn storages(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(
        &[
            opt("content", Ty::Str),
            opt("enabled", Ty::Bool),
            opt("format", Ty::Bool),
            opt("storage", Ty::Str),
            opt("target", Ty::Str),
        ],
        &["node"],
    )?;
    let content = call.params.get("content");
    let target = call.params.get("target");
    let only = call.params.get("storage");
    Ok(Value::Array(
        model
            .storages
            .iter()
            .filter(|s| s.on_node(node))
            .filter(|s| content.is_none_or(|c| c.split(',').all(|c| s.holds(c))))
            .filter(|s| target.is_none_or(|t| t == node || (s.shared && s.on_node(t))))
            .filter(|s| only.is_none_or(|o| o == s.id))
            .map(|s| {
                let used: u64 = model.volumes(&s.id, node).iter().map(|v| v.size).sum();
                json!({
                    "storage": s.id, "type": s.kind, "content": s.content.join(","), "active": 1, "enabled": 1,
                    "shared": u8::from(s.shared), "total": s.total, "used": used, "avail": s.total.saturating_sub(used),
                    "used_fraction": used as f64 / s.total.max(1) as f64,
                })
            })
            .collect(),
    ))
}
