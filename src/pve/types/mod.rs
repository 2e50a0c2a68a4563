//! Typed responses of the endpoints proxdeck uses, decoded leniently
//! (see `de.rs`). Unknown fields are ignored, so newer servers still decode.

mod cluster;
mod guest;
mod node;
mod storage;
mod task;

pub use cluster::{ClusterResource, ClusterStatusItem, Version};
pub use guest::{GuestConfig, GuestKind, GuestListItem, GuestStatus, SnapshotInfo};
pub use node::{NetworkIface, NodeListItem, NodeStatus, NodeTime};
pub use storage::{StorageContent, StorageInfo, Verification};
pub use task::{LogLine, TaskListItem, TaskStatus, exitstatus_ok};
