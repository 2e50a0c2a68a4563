//! The naming convention: patterns, and (later) rendering, parsing and sequences.

pub mod pattern;

pub use pattern::{Pattern, PatternError, Segment};
