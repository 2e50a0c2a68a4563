//! Support shared by the integration tests. Each test crate uses a part of it.
#![allow(dead_code)]

pub mod fakepve;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under tests/support.
pub fn support(name: &str) -> PathBuf {
    repo().join("tests").join("support").join(name)
}

/// The built proxdeck binary.
pub fn proxdeck_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_proxdeck"))
}
