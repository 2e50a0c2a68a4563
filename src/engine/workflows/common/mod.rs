//! What several workflows share: finding and removing the guests they make,
//! setting and checking a guest's network identity, LVM snapshot steps,
//! backup archive steps, and guest safety snapshots.

pub mod backup;
pub mod guest;
pub mod lvm;
pub mod lvm_plan;
pub mod network;
pub mod safety;
