//! Backups: archive names, the catalog across nodes and storages, Proxmox's
//! prune rules, and verification on the node that holds an archive.

pub mod archive;
pub mod catalog;
pub mod prune;
pub mod verify;
