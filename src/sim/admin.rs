//! The loopback-only control API under `/sim/...` that tests (and curious
//! admins) use to inject faults. Not part of the Proxmox API.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::faults::{HttpFault, TaskFault};
use super::model::{Model, TaskState, TokenDef};

#[derive(Deserialize)]
struct NodeState {
    node: String,
    online: bool,
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

#[derive(Deserialize)]
struct Lock {
    vmid: u32,
    /// A config `lock:` value to leave set (`backup`, `clone`, ...).
    #[serde(default)]
    lock: Option<String>,
    /// Hold the config file lock for this many seconds (absent with no `lock`: until unlocked).
    #[serde(default)]
    secs: Option<f64>,
}

#[derive(Deserialize)]
struct Unlock {
    vmid: u32,
}

#[derive(Deserialize)]
struct Tickets {
    #[serde(default)]
    ttl_secs: Option<f64>,
    #[serde(default)]
    revoke: bool,
}

#[derive(Deserialize)]
struct Token {
    id: String,
    secret: String,
    #[serde(default)]
    privs: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Grant {
    user: String,
    privs: Vec<String>,
}

#[derive(Deserialize)]
struct Scale {
    value: f64,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(400, format!("bad admin request: {e}")))
}

/// Handle `/sim/<what>`.
pub fn handle(model: &mut Model, method: &str, what: &str, body: &[u8]) -> Result<Value, ApiError> {
    match (method, what) {
        ("POST", "fail") => {
            let f: HttpFault = parse(body)?;
            model.faults.http.push(f);
        }
        ("POST", "task-fail") => {
            let f: TaskFault = parse(body)?;
            model.faults.tasks.push(f);
        }
        ("POST", "clear-faults") => {
            model.faults.http.clear();
            model.faults.tasks.clear();
            model.faults.latency = Duration::ZERO;
        }
        ("POST", "node") => {
            let n: NodeState = parse(body)?;
            let node = model
                .nodes
                .get_mut(&n.node)
                .ok_or_else(|| ApiError::new(404, format!("no node {}", n.node)))?;
            node.online = n.online;
            if n.online {
                node.boot_unix = crate::store::now();
            }
        }
        ("POST", "latency") => {
            let l: Latency = parse(body)?;
            model.faults.latency = Duration::from_millis(l.ms);
        }
        ("POST", "lock") => {
            let l: Lock = parse(body)?;
            if !model.guests.contains_key(&l.vmid) {
                return Err(ApiError::new(404, format!("no guest {}", l.vmid)));
            }
            match l.lock {
                Some(value) => {
                    if let Some(g) = model.guests.get_mut(&l.vmid) {
                        g.config.insert("lock".into(), value);
                    }
                }
                None => {
                    let until = l.secs.map(|s| Instant::now() + Duration::from_secs_f64(s));
                    model.held_locks.insert(l.vmid, until);
                }
            }
        }
        ("POST", "unlock") => {
            let u: Unlock = parse(body)?;
            model.held_locks.remove(&u.vmid);
            if let Some(g) = model.guests.get_mut(&u.vmid) {
                g.config.remove("lock");
            }
        }
        ("POST", "tickets") => {
            let t: Tickets = parse(body)?;
            if let Some(ttl) = t.ttl_secs {
                model.ticket_ttl = Duration::from_secs_f64(ttl);
            }
            if t.revoke {
                model.sessions.clear();
            }
        }
        ("POST", "token") => {
            let t: Token = parse(body)?;
            model.tokens.insert(
                t.id,
                TokenDef {
                    secret: t.secret,
                    privs: t.privs.map(|p| p.into_iter().collect::<BTreeSet<_>>()),
                },
            );
        }
        ("POST", "token-grant") => {
            let g: Grant = parse(body)?;
            let token = model
                .tokens
                .get_mut(&g.user)
                .ok_or_else(|| ApiError::new(404, format!("no token {}", g.user)))?;
            token
                .privs
                .get_or_insert_with(BTreeSet::new)
                .extend(g.privs);
        }
        ("POST", "time-scale") => {
            let s: Scale = parse(body)?;
            model.time_scale = s.value.max(0.0);
        }
        ("GET", "requests") => {
            return Ok(json!(model.requests));
        }
        ("GET", "request-count") => {
            return Ok(json!(model.request_count));
        }
        ("GET", "state") => {
            return Ok(json!({
                "nodes": model.nodes.values().map(|n| json!({"name": n.name, "online": n.online})).collect::<Vec<_>>(),
                "guests": model.guests.len(),
                "tasks_running": model.tasks.iter().filter(|t| !matches!(t.state, TaskState::Stopped(_))).count(),
                "time_scale": model.time_scale,
            }));
        }
        _ => {
            return Err(ApiError::new(
                404,
                format!("no admin call {method} /sim/{what}"),
            ));
        }
    }
    Ok(json!({"ok": true}))
}
