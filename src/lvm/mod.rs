//! LVM host snapshots: what `lvs` reports, the commands that create, merge
//! and remove snapshots, how their answers are read, and which snapshots
//! retention removes.

pub mod catalog;
pub mod lvs;
pub mod ops;
pub mod retention;

pub use lvs::{Lv, LvKind, parse_lvs};

/// The words the catalog and the console use for a merge waiting on a reboot.
pub const MERGE_PENDING: &str = "merge pending until the next activation (reboot)";
pub use ops::{MergeOutcome, SnapshotSize};
