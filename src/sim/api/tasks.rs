//! Task status, logs, listings and stopping.

use serde_json::{Value, json};

use super::Call;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimTask, TaskState};
use crate::sim::validate::{Ty, opt};

fn listing(t: &SimTask) -> Value {
    let u = &t.upid;
    let mut e = json!({
        "upid": u.as_str(), "node": u.node, "pid": u.pid, "pstart": u.pstart, "starttime": u.starttime,
        "type": u.task_type, "id": u.id, "user": u.user.split('!').next().unwrap_or(&u.user),
    });
    let o = e.as_object_mut().expect("object");
    if let Some((_, token)) = u.user.split_once('!') {
        o.insert("tokenid".into(), json!(token));
    }
    if let TaskState::Stopped(exit) = &t.state {
        o.insert("status".into(), json!(exit));
        o.insert("endtime".into(), json!(t.endtime));
    }
    e
}

pub fn cluster_tasks(call: &Call, model: &mut Model) -> Result<Value, ApiError> {
    call.check(&[], &[])?;
    Ok(Value::Array(
        model.tasks.iter().rev().take(500).map(listing).collect(),
    ))
}

pub fn node_tasks(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(
        &[
            opt("limit", Ty::Int),
            opt("start", Ty::Int),
            opt("vmid", Ty::VmId),
            opt("typefilter", Ty::Str),
            opt("userfilter", Ty::Str),
            opt("statusfilter", Ty::Str),
            opt("since", Ty::Int),
            opt("until", Ty::Int),
            opt("errors", Ty::Bool),
            opt("source", Ty::Enum(&["archive", "active", "all"])),
        ],
        &["node"],
    )?;
    let p = &call.params;
    let start = p.int("start").unwrap_or(0).max(0) as usize;
    let limit = p.int("limit").unwrap_or(50).max(0) as usize;
    let source = p.get("source").unwrap_or("archive");
    let vmid = p.get("vmid");
    let typefilter = p.get("typefilter");
    let errors_only = p.flag("errors").unwrap_or(false);
    let since = p.int("since");
    let items: Vec<Value> = model
        .tasks
        .iter()
        .rev()
        .filter(|t| t.upid.node == node)
        .filter(|t| match source {
            "active" => !matches!(t.state, TaskState::Stopped(_)),
            "archive" => matches!(t.state, TaskState::Stopped(_)),
            _ => true,
        })
        .filter(|t| vmid.is_none_or(|v| t.upid.id == v))
        .filter(|t| typefilter.is_none_or(|f| t.upid.task_type == f))
        .filter(|t| !errors_only || matches!(&t.state, TaskState::Stopped(s) if s != "OK"))
        .filter(|t| since.is_none_or(|s| t.upid.starttime >= s))
        .skip(start)
        .take(limit)
        .map(listing)
        .collect();
    Ok(Value::Array(items))
}

fn find<'a>(model: &'a Model, node: &str, upid: &str) -> Result<&'a SimTask, ApiError> {
    if upid.parse::<crate::pve::Upid>().is_err() {
        return Err(ApiError::server(format!(
            "unable to parse worker upid '{upid}'"
        )));
    }
    model
        .task(upid)
        .filter(|t| t.upid.node == node)
        .ok_or_else(|| ApiError::server(format!("no such task '{upid}'")))
}

pub fn status(call: &Call, model: &mut Model, node: &str, upid: &str) -> Result<Value, ApiError> {
    call.check(&[], &["node", "upid"])?;
    let t = find(model, node, upid)?;
    let mut e = listing(t);
    let o = e.as_object_mut().expect("object");
    o.remove("endtime");
    o.remove("status");
    match &t.state {
        TaskState::Stopped(exit) => {
            o.insert("status".into(), json!("stopped"));
            o.insert("exitstatus".into(), json!(exit));
        }
        _ => {
            o.insert("status".into(), json!("running"));
        }
    }
    Ok(e)
}

/// Log lines `start..start+limit` (0-based), with the line count as `total`.
pub fn log(
    call: &Call,
    model: &mut Model,
    node: &str,
    upid: &str,
) -> Result<super::Reply, ApiError> {
    call.check(
        &[
            opt("start", Ty::Int),
            opt("limit", Ty::Int),
            opt("download", Ty::Bool),
        ],
        &["node", "upid"],
    )?;
    let t = find(model, node, upid)?;
    let start = call.params.int("start").unwrap_or(0).max(0) as usize;
    let limit = call.params.int("limit").unwrap_or(50).max(0) as usize;
    let lines: Vec<Value> = if t.log.is_empty() && start == 0 {
        vec![json!({"n": 1, "t": "no content"})]
    } else {
        t.log
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, l)| json!({"n": i + 1, "t": l}))
            .collect()
    };
    Ok(super::Reply {
        data: Value::Array(lines),
        total: Some(t.log.len()),
    })
}

pub fn stop(call: &Call, model: &mut Model, node: &str, upid: &str) -> Result<Value, ApiError> {
    call.check(&[], &["node", "upid"])?;
    find(model, node, upid)?;
    if let Some(t) = model.task_mut(upid)
        && t.state == TaskState::Running
    {
        t.state = TaskState::Stopping;
        call.shared.stop_requested.notify_waiters();
    }
    Ok(Value::Null)
}
