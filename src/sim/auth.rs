//! Authentication as Proxmox does it: API tokens, or tickets with CSRF tokens.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::error::ApiError;
use super::model::{Model, Session};
use super::validate::{Params, Ty, check, opt, req};

/// Who a request runs as, and (for limited tokens) what they may do.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub privs: Option<BTreeSet<String>>,
}

fn cookie_ticket(cookie: Option<&str>) -> Option<String> {
    cookie?
        .split(';')
        .map(str::trim)
        .find_map(|c| c.strip_prefix("PVEAuthCookie="))
        .map(str::to_string)
}

/// Check the credentials of a request.
pub fn authenticate(
    model: &mut Model,
    method: &str,
    authorization: Option<&str>,
    cookie: Option<&str>,
    csrf: Option<&str>,
) -> Result<Identity, ApiError> {
    if let Some(v) = authorization.and_then(|auth| {
        auth.strip_prefix("PVEAPIToken=")
            .or_else(|| auth.strip_prefix("PVEAPIToken "))
    }) {
        let (id, secret) = v
            .split_once('=')
            .ok_or_else(|| ApiError::unauthorized("authentication failure"))?;
        let token = model
            .tokens
            .get(id)
            .ok_or_else(|| ApiError::unauthorized("authentication failure"))?;
        if token.secret != secret {
            return Err(ApiError::unauthorized("authentication failure"));
        }
        return Ok(Identity {
            user: id.to_string(),
            privs: token.privs.clone(),
        });
    }
    let ticket = cookie_ticket(cookie)
        .or_else(|| {
            authorization
                .and_then(|a| a.strip_prefix("PVEAuthCookie="))
                .map(str::to_string)
        })
        .ok_or_else(|| ApiError::unauthorized("No ticket"))?;
    let session = model
        .sessions
        .get(&ticket)
        .filter(|s| s.expires > Instant::now())
        .ok_or_else(|| ApiError::unauthorized("permission denied - invalid PVE ticket"))?;
    if method != "GET" && csrf != Some(session.csrf.as_str()) {
        return Err(ApiError::unauthorized(
            "Permission denied - invalid csrf token",
        ));
    }
    Ok(Identity {
        user: session.user.clone(),
        privs: None,
    })
}

/// `POST /access/ticket`: log in with a password, or renew with a valid ticket.
pub fn ticket(model: &mut Model, params: &Params, token_header: bool) -> Result<Value, ApiError> {
    if token_header {
        return Err(ApiError::new(
            403,
            "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.)",
        ));
    }
    check(
        params,
        &[
            req("username", Ty::StrMax(64)),
            req("password", Ty::Str),
            opt("realm", Ty::Str),
            opt("otp", Ty::Str),
            opt("tfa-challenge", Ty::Str),
            opt("path", Ty::Str),
            opt("privs", Ty::Str),
            opt("new-format", Ty::Bool),
        ],
        &[],
    )?;
    let mut user = params.get("username").unwrap_or_default().to_string();
    if !user.contains('@') {
        user = format!("{user}@{}", params.get("realm").unwrap_or("pam"));
    }
    let password = params.get("password").unwrap_or_default();
    let by_password = user == "root@pam" && password == model.password;
    let by_ticket = model
        .sessions
        .get(password)
        .is_some_and(|s| s.user == user && s.expires > Instant::now());
    if !by_password && !by_ticket {
        return Err(ApiError::unauthorized("authentication failure"));
    }
    let now = crate::store::now();
    let ticket = format!("PVE:{user}:{:08X}::{}", now as u32, model.rng.hex(64));
    let csrf = format!("{:08X}:{}", now as u32, model.rng.hex(43));
    model.sessions.insert(
        ticket.clone(),
        Session {
            user: user.clone(),
            csrf: csrf.clone(),
            expires: Instant::now() + model.ticket_ttl,
        },
    );
    Ok(json!({
        "username": user, "ticket": ticket, "CSRFPreventionToken": csrf, "clustername": model.cluster_name,
        "cap": {"vms": {"VM.Audit": 1, "VM.PowerMgmt": 1, "VM.Clone": 1, "VM.Allocate": 1, "VM.Snapshot": 1, "VM.Backup": 1}},
    }))
}
