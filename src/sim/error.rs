//! Errors the simulator answers, worded and shaped as Proxmox does
//! (reason phrase = first line of the message, JSON body with `message`,
//! per-parameter `errors` for 400).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub errors: BTreeMap<String, String>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: BTreeMap::new(),
        }
    }

    /// 500: what a failing handler dies with.
    pub fn server(message: impl Into<String>) -> ApiError {
        ApiError::new(500, message)
    }

    /// 400 for one parameter.
    pub fn param(name: &str, message: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(name.to_string(), message.into());
        ApiError::params(errors)
    }

    /// 400 for several parameters at once.
    pub fn params(errors: BTreeMap<String, String>) -> ApiError {
        ApiError {
            status: 400,
            message: "Parameter verification failed.".into(),
            errors,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, message)
    }

    /// 403 `Permission check failed (/vms/100, VM.PowerMgmt)`.
    pub fn forbidden(path: &str, privilege: &str) -> ApiError {
        ApiError::new(
            403,
            format!("Permission check failed ({path}, {privilege})"),
        )
    }

    pub fn not_implemented(method: &str, path: &str) -> ApiError {
        ApiError::new(501, format!("Method '{method} {path}' not implemented"))
    }

    /// 595: the node a request is for cannot be reached.
    pub fn no_route() -> ApiError {
        ApiError::new(595, "No route to host")
    }

    /// The reason phrase: the message's first line.
    pub fn reason(&self) -> String {
        self.message.lines().next().unwrap_or("").trim().to_string()
    }
}
