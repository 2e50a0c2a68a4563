//! The names of the kinds of actions proxdeck can take, as policies spell them.
//!
//! `action-policies.yml` refers to actions by these names (the original design's
//! `restore_snapshot`, `clone_vm`, ...). They live in one place so that the
//! configuration validator, the policy engine and the front ends agree.

use std::fmt;

macro_rules! action_kinds {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// A kind of action, named as in `action-policies.yml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ActionKind {
            $(#[doc = $doc] $variant,)*
        }

        impl ActionKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ActionKind] = &[$(ActionKind::$variant,)*];

            /// The policy name, e.g. `clone_vm`.
            pub fn name(self) -> &'static str {
                match self {
                    $(ActionKind::$variant => $name,)*
                }
            }

            /// One line saying what the action does.
            pub fn describe(self) -> &'static str {
                match self {
                    $(ActionKind::$variant => $doc,)*
                }
            }
        }
    };
}

action_kinds! {
    CreateSnapshot => "create_snapshot": "take a guest snapshot",
    RestoreSnapshot => "restore_snapshot": "roll a guest back to a snapshot",
    DeleteSnapshot => "delete_snapshot": "delete a guest snapshot by hand",
    CleanupSnapshots => "cleanup_snapshots": "remove expired snapshots by retention",
    CreateLvmSnapshot => "create_lvm_snapshot": "take an LVM snapshot of a host volume",
    RestoreLvmSnapshot => "restore_lvm_snapshot": "merge an LVM snapshot back into its origin",
    DeleteLvmSnapshot => "delete_lvm_snapshot": "delete an LVM snapshot by hand",
    CreateBackup => "create_backup": "run vzdump for a guest",
    VerifyBackup => "verify_backup": "check a backup archive's integrity",
    SyncBackup => "sync_backup": "copy a backup to secondary storage",
    PruneBackups => "prune_backups": "remove backups by retention",
    RestoreBackup => "restore_backup": "restore a backup as a new guest",
    DeleteBackup => "delete_backup": "delete a backup by hand",
    CloneVm => "clone_vm": "clone a virtual machine",
    CloneLxc => "clone_lxc": "clone a container",
    ReplicateResource => "replicate_resource": "replicate a template or guest to other nodes",
    AssignStaticIp => "assign_static_ip": "give a guest a static address",
    HostUpgrade => "host_upgrade": "upgrade a node's packages behind an LVM snapshot",
    DeleteTemplate => "delete_template": "delete a template",
    DeleteGuest => "delete_guest": "delete a guest",
    ModifyGuest => "modify_guest": "change a guest's configuration",
}

impl ActionKind {
    /// Look a kind up by its policy name.
    pub fn from_name(name: &str) -> Option<ActionKind> {
        ActionKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Every policy name, comma separated, for error messages.
    pub fn known_names() -> String {
        ActionKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ActionKind;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in ActionKind::ALL {
            assert!(seen.insert(kind.name()), "duplicate {}", kind.name());
            assert_eq!(ActionKind::from_name(kind.name()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
        assert_eq!(ActionKind::from_name("launch_missiles"), None);
    }
}
