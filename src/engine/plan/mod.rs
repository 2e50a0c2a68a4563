//! Plans: an action expanded into the steps the engine will run and everything
//! an admin must see before approving (names, VMIDs, addresses, MACs, storage,
//! strategy, safety snapshot). A plan has a stable hash: approving checks it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::macaddr::MacAddr;

mod context;
mod facts;

pub use context::{NewGuest, PlanContext, Wish, release_all, snapshot_name};
pub use facts::{PlanFacts, storage_of};

/// How a copy reaches another node (what Proxmox allows for the source's storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Strategy {
    /// The target is the source's own node: a plain full clone.
    CloneLocal,
    /// The disks are on shared storage: clone straight to the target node.
    CloneWithTarget { storage: String },
    /// Local disks: full clone on the source node, then offline migration.
    CloneThenMigrate,
    /// Neither: vzdump to a shared backup storage and restore on the target.
    BackupRestore { storage: String },
}

impl Strategy {
    pub fn describe(&self) -> String {
        match self {
            Strategy::CloneLocal => "full clone on the same node".into(),
            Strategy::CloneWithTarget { storage } => {
                format!("clone directly to the target (disks on shared storage {storage})")
            }
            Strategy::CloneThenMigrate => {
                "full clone on the source node, then offline migration (local disks)".into()
            }
            Strategy::BackupRestore { storage } => {
                format!("back up to {storage} and restore on the target")
            }
        }
    }
}

/// One new guest (a replica or clone), or the guest an address is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPlan {
    /// Proxmox node name.
    pub node: String,
    pub vmid: u32,
    pub name: String,
    pub hostname: String,
    pub ip: Option<Ipv4Addr>,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: Option<MacAddr>,
    pub bridge: String,
    pub nameserver: Option<String>,
    pub strategy: Option<Strategy>,
    /// Where the new disks go (None: where the source's are).
    pub storage: Option<String>,
    /// `ip_allocations` record held for this target.
    pub ip_allocation: Option<i64>,
    /// `name_reservations` record held for this target.
    pub name_reservation: Option<i64>,
    /// A running container is cloned from this temporary snapshot, removed
    /// afterwards (Proxmox clones a running container only from a snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_snapshot: Option<String>,
    /// CD-ROM drives the clone empties before it migrates (Proxmox does not
    /// migrate a local ISO).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eject: Vec<CdromDrive>,
    /// How the address reaches the guest (None in older plans: as the kind
    /// of guest implies, a VM by `ipconfig0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// How a planned address reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// A container: Proxmox writes it into the container's network setup.
    Container,
    /// A VM with a cloud-init drive: `ipconfig0`, which cloud-init applies at boot.
    CloudInit,
    /// A VM without cloud-init: Proxmox cannot set it. The address is
    /// reserved for the MAC; a DHCP reservation or the guest's own network
    /// configuration must carry it.
    Manual,
}

impl Delivery {
    /// How a guest of `kind` gets its address.
    pub fn of(kind: crate::pve::GuestKind, has_cloudinit: bool) -> Delivery {
        match (kind, has_cloudinit) {
            (crate::pve::GuestKind::Lxc, _) => Delivery::Container,
            (_, true) => Delivery::CloudInit,
            (_, false) => Delivery::Manual,
        }
    }

    /// What an admin must know about it, for the plan (None: nothing to add).
    pub fn explain(
        self,
        guest: &str,
        ip: Option<Ipv4Addr>,
        mac: Option<MacAddr>,
    ) -> Option<String> {
        (self == Delivery::Manual).then(|| {
            format!(
                "{guest} has no cloud-init drive, so Proxmox cannot give it an address: {} is reserved for MAC {} but must reach the guest by a DHCP reservation for that MAC or by the guest's own network configuration (until then it keeps the address set inside it)",
                ip.map(|i| i.to_string()).unwrap_or_else(|| "the address".into()),
                mac.map(|m| m.to_string()).unwrap_or_else(|| "of its NIC".into())
            )
        })
    }
}

/// A CD-ROM drive and what is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdromDrive {
    /// Config key (`ide2`).
    pub key: String,
    pub volume: String,
}

/// One journaled step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub seq: u32,
    /// `clone@pve-node-02`, `snapshot`, ...
    pub key: String,
    /// The target node the step belongs to, if any.
    pub target: Option<String>,
    pub description: String,
}

impl PlanStep {
    /// The step's name without its target (`clone`).
    pub fn name(&self) -> &str {
        self.key.split('@').next().unwrap_or(&self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub summary: String,
    pub steps: Vec<PlanStep>,
    pub targets: Vec<TargetPlan>,
    /// The snapshot created or rolled back to.
    pub snapshot: Option<String>,
    /// Taken before the change, when policy asks for one.
    pub safety_snapshot: Option<String>,
    pub notes: Vec<String>,
    /// Values the workflow runs with exactly as shown (sizes, commands,
    /// volumes); absent from older plans, so their hashes do not change.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
}

impl Plan {
    /// A value the planner fixed.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

impl Plan {
    /// An empty plan for a summary (steps and details are added after).
    pub fn new(summary: impl Into<String>) -> Plan {
        Plan {
            summary: summary.into(),
            steps: Vec::new(),
            targets: Vec::new(),
            snapshot: None,
            safety_snapshot: None,
            notes: Vec::new(),
            params: Default::default(),
        }
    }
}

impl Plan {
    /// SHA-256 of the plan's canonical JSON, hex.
    pub fn hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let d = ring::digest::digest(&ring::digest::SHA256, &bytes);
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn target(&self, node: &str) -> Option<&TargetPlan> {
        self.targets.iter().find(|t| t.node == node)
    }

    /// Steps of one target, in order.
    pub fn steps_of(&self, node: &str) -> Vec<&PlanStep> {
        self.steps
            .iter()
            .filter(|s| s.target.as_deref() == Some(node))
            .collect()
    }

    /// A readable rendering for the CLI and the confirmation dialog.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.summary);
        for t in &self.targets {
            out.push_str(&format!(
                "  {}: {} (vmid {}) ip {} mac {} hostname {}{}\n",
                t.node,
                t.name,
                t.vmid,
                t.ip.map(|i| format!("{i}/{}", t.prefix_len))
                    .unwrap_or_else(|| "-".into()),
                t.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                t.hostname,
                t.strategy
                    .as_ref()
                    .map(|s| format!("\n      via {}", s.describe()))
                    .unwrap_or_default()
            ));
        }
        if let Some(s) = &self.safety_snapshot {
            out.push_str(&format!("  safety snapshot first: {s}\n"));
        }
        out.push_str("  steps:\n");
        for s in &self.steps {
            out.push_str(&format!(
                "    {:>2}. {:<26} {}\n",
                s.seq, s.key, s.description
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        for (k, v) in &self.params {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        out
    }
}

/// Builds the ordered step list.
#[derive(Debug, Default)]
pub struct StepList {
    steps: Vec<PlanStep>,
}

impl StepList {
    pub fn add(&mut self, key: &str, target: Option<&str>, description: impl Into<String>) {
        let seq = self.steps.len() as u32 + 1;
        self.steps.push(PlanStep {
            seq,
            key: match target {
                Some(t) => format!("{key}@{t}"),
                None => key.to_string(),
            },
            target: target.map(str::to_string),
            description: description.into(),
        });
    }

    pub fn into_steps(self) -> Vec<PlanStep> {
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_and_changes_with_content() {
        let mut steps = StepList::default();
        steps.add("clone", Some("pve-node-02"), "clone 101 to 300");
        let p = Plan {
            summary: "s".into(),
            steps: steps.into_steps(),
            targets: vec![],
            snapshot: None,
            safety_snapshot: None,
            notes: vec![],
            params: Default::default(),
        };
        assert_eq!(p.hash(), p.clone().hash());
        assert_eq!(p.hash().len(), 64);
        let mut q = p.clone();
        q.notes.push("x".into());
        assert_ne!(p.hash(), q.hash());
        assert_eq!(p.steps[0].name(), "clone");
    }
}
