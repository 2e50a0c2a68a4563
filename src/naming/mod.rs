//! The naming convention: patterns, rendering and parsing names, compliance,
//! sequence numbers, hostnames, and name reservations.

pub mod convention;
pub mod pattern;
pub mod render;
pub mod reserve;

pub use convention::{Compliance, Convention};
pub use pattern::{Pattern, PatternError, Segment};
pub use render::{Mismatch, NameParts, RenderError, is_hostname};

/// A hostname Proxmox and DNS accept (RFC 1123), or why not.
pub fn check_hostname(h: &str) -> Result<(), String> {
    if is_hostname(h) && !h.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "'{h}' is not a hostname: dot-separated labels of letters, digits and '-', 1-63 characters each, not starting or ending with '-'"
        ))
    }
}
