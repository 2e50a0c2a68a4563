//! The naming convention: patterns, rendering and parsing names, compliance,
//! sequence numbers, hostnames, and name reservations.

pub mod convention;
pub mod pattern;
pub mod render;
pub mod reserve;

pub use convention::{Compliance, Convention};
pub use pattern::{Pattern, PatternError, Segment};
pub use render::{Mismatch, NameParts, RenderError, is_hostname};
