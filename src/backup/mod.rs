//! Backups: the catalog of vzdump archives across nodes and storages.

pub mod catalog;
