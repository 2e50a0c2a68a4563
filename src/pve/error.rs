//! Errors from the Proxmox API, worded for an admin.
//!
//! Proxmox puts its message in the HTTP reason phrase (every version) and, from
//! pve-http-server 5.2.0 on, also in the body's `message`; the reason phrase is
//! read first. 400s carry per-parameter `errors`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::fingerprint::Fingerprint;

/// Anything that can go wrong talking to Proxmox.
#[derive(Debug, Clone, PartialEq)]
pub enum PveError {
    /// 400: parameter verification failed, with Proxmox's message per parameter.
    BadRequest {
        message: String,
        errors: BTreeMap<String, String>,
    },
    /// 401: no or bad credentials, or a missing/invalid CSRF token.
    Unauthorized { message: String },
    /// 403: the user or token lacks a privilege.
    Forbidden {
        message: String,
        /// `(path, privilege)` when the message names them.
        missing: Option<(String, String)>,
    },
    /// 500: the handler failed (`VM 100 not running`, locks, clone refused ...).
    Server { message: String },
    /// 501: no such path or method.
    NotImplemented { message: String },
    /// 595/596: the contacted node could not reach the node the request is for.
    Unreachable { status: u16, message: String },
    /// Any other HTTP status.
    Http { status: u16, message: String },
    /// No endpoint could be connected to.
    Connect {
        endpoints: Vec<String>,
        message: String,
    },
    /// The request took longer than allowed.
    Timeout { what: String, after: Duration },
    /// TLS failed; for a pin mismatch both fingerprints are given.
    Tls {
        message: String,
        expected: Option<Fingerprint>,
        presented: Option<Fingerprint>,
    },
    /// The answer was not what the API documents.
    Decode { what: String, message: String },
    /// A Proxmox task ended with an error exit status.
    TaskFailed { upid: String, exitstatus: String },
    /// A secret could not be read, or the configuration cannot be used.
    Setup { message: String },
}

impl PveError {
    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            PveError::BadRequest { .. } => Some(400),
            PveError::Unauthorized { .. } => Some(401),
            PveError::Forbidden { .. } => Some(403),
            PveError::Server { .. } => Some(500),
            PveError::NotImplemented { .. } => Some(501),
            PveError::Unreachable { status, .. } | PveError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The message Proxmox gave, without proxdeck's wording around it.
    pub fn proxmox_message(&self) -> Option<&str> {
        match self {
            PveError::BadRequest { message, .. }
            | PveError::Unauthorized { message }
            | PveError::Forbidden { message, .. }
            | PveError::Server { message }
            | PveError::NotImplemented { message }
            | PveError::Unreachable { message, .. }
            | PveError::Http { message, .. } => Some(message),
            PveError::TaskFailed { exitstatus, .. } => Some(exitstatus),
            _ => None,
        }
    }

    /// Build the error for an HTTP status from its reason phrase and body.
    pub fn from_response(status: u16, reason: Option<&str>, body: &[u8]) -> PveError {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let body_message = parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(|m| m.as_str())
            .map(|m| m.trim_end().to_string());
        let errors: BTreeMap<String, String> = parsed
            .as_ref()
            .and_then(|v| v.get("errors"))
            .and_then(|e| e.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let text = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), text.trim_end().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let plain_body = if parsed.is_none() {
            let t = String::from_utf8_lossy(body).trim().to_string();
            (!t.is_empty() && t.len() < 500).then_some(t)
        } else {
            None
        };
        let message = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .or(body_message)
            .or(plain_body)
            .unwrap_or_else(|| default_reason(status).to_string());
        match status {
            400 => PveError::BadRequest { message, errors },
            401 => PveError::Unauthorized { message },
            403 => PveError::Forbidden {
                missing: missing_privilege(&message),
                message,
            },
            500 => PveError::Server { message },
            501 => PveError::NotImplemented { message },
            595 | 596 => PveError::Unreachable { status, message },
            _ => PveError::Http { status, message },
        }
    }
}

fn default_reason(status: u16) -> &'static str {
    match status {
        595 => "connection to the node failed",
        596 => "the node did not answer",
        _ => http_reason(status),
    }
}

fn http_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
}

/// `Permission check failed (/vms/100, VM.PowerMgmt)` → (`/vms/100`, `VM.PowerMgmt`).
pub fn missing_privilege(message: &str) -> Option<(String, String)> {
    let inner = message
        .strip_prefix("Permission check failed (")?
        .trim_end()
        .strip_suffix(')')?;
    let (path, privilege) = inner.split_once(", ")?;
    if !path.starts_with('/') || privilege.contains(' ') {
        return None;
    }
    Some((path.to_string(), privilege.to_string()))
}

impl fmt::Display for PveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PveError::BadRequest { message, errors } => {
                write!(
                    f,
                    "Proxmox rejected the parameters ({})",
                    message.trim_end_matches('.')
                )?;
                for (k, v) in errors {
                    write!(f, "; {k}: {v}")?;
                }
                Ok(())
            }
            PveError::Unauthorized { message } => write!(
                f,
                "Proxmox refused the login (401 {message}): check the token or password"
            ),
            PveError::Forbidden { message, missing } => match missing {
                Some((path, privilege)) => write!(
                    f,
                    "permission denied: the token or user lacks {privilege} on {path} ({message})"
                ),
                None => write!(f, "permission denied (403 {message})"),
            },
            PveError::Server { message } => write!(f, "Proxmox: {message}"),
            PveError::NotImplemented { message } => {
                write!(f, "Proxmox does not know this call (501 {message})")
            }
            PveError::Unreachable { status, message } => write!(
                f,
                "the node is unreachable from the cluster ({status} {message})"
            ),
            PveError::Http { status, message } => write!(f, "Proxmox answered {status} {message}"),
            PveError::Connect { endpoints, message } => {
                write!(f, "cannot connect to {}: {message}", endpoints.join(", "))
            }
            PveError::Timeout { what, after } => {
                write!(f, "{what} timed out after {:.1}s", after.as_secs_f64())
            }
            PveError::Tls {
                message,
                expected,
                presented,
            } => match (expected, presented) {
                (Some(e), Some(p)) => write!(
                    f,
                    "TLS certificate fingerprint mismatch: expected {e}, the server presented {p}"
                ),
                _ => write!(f, "TLS error: {message}"),
            },
            PveError::Decode { what, message } => {
                write!(f, "unexpected answer from Proxmox for {what}: {message}")
            }
            PveError::TaskFailed { upid, exitstatus } => {
                write!(f, "Proxmox task failed: {exitstatus} ({upid})")
            }
            PveError::Setup { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for PveError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrase_wins_over_body_message() {
        let e = PveError::from_response(
            500,
            Some("VM 100 not running"),
            br#"{"data":null,"message":"something else\n"}"#,
        );
        assert_eq!(
            e,
            PveError::Server {
                message: "VM 100 not running".into()
            }
        );
        let e = PveError::from_response(500, None, br#"{"data":null,"message":"from body\n"}"#);
        assert_eq!(e.proxmox_message(), Some("from body"));
    }

    #[test]
    fn bad_request_keeps_per_parameter_errors() {
        let e = PveError::from_response(
            400,
            Some("Parameter verification failed."),
            br#"{"errors":{"vmid":"VM 200 already exists"},"data":null}"#,
        );
        assert_eq!(
            e.to_string(),
            "Proxmox rejected the parameters (Parameter verification failed); vmid: VM 200 already exists"
        );
    }

    #[test]
    fn forbidden_names_the_missing_privilege() {
        let e = PveError::from_response(
            403,
            Some("Permission check failed (/vms/100, VM.PowerMgmt)"),
            b"",
        );
        assert_eq!(
            e,
            PveError::Forbidden {
                message: "Permission check failed (/vms/100, VM.PowerMgmt)".into(),
                missing: Some(("/vms/100".into(), "VM.PowerMgmt".into())),
            }
        );
        assert!(e.to_string().contains("lacks VM.PowerMgmt on /vms/100"));
    }

    #[test]
    fn proxy_failures() {
        let e = PveError::from_response(595, Some("No route to host"), b"");
        assert_eq!(e.status(), Some(595));
        assert!(matches!(e, PveError::Unreachable { .. }));
    }
}
