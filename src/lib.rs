//! proxdeck: a terminal operations console for Proxmox VE clusters.
//!
//! One engine changes infrastructure; the TUI, the CLI and (later) the REST API
//! only propose, approve, reject and read. See ARCHITECTURE in the README.

pub mod action_kind;
pub mod actor;
pub mod backup;
pub mod cli;
pub mod config;
pub mod engine;
pub mod fingerprint;
pub mod host;
pub mod inventory;
pub mod ipam;
pub mod logging;
pub mod lvm;
pub mod macaddr;
pub mod memory;
pub mod metadata;
pub mod naming;
pub mod paths;
pub mod policy;
pub mod pve;
pub mod secret;
pub mod sim;
pub mod store;
pub mod timefmt;
pub mod tui;
pub mod units;
