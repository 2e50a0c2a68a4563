//! What the keys on a selected item propose: the forms they open and the
//! actions those forms (or the keys directly) build. Nothing here changes the
//! cluster; actions go to the engine to be planned and shown first.

use super::forms::{Field, Form, FormPurpose, Rule, next_free_ip};
use super::msg::Effect;
use super::panes::PaneId;
use super::panes::{resources, snapshots};
use super::state::State;
use super::theme::Role;
use crate::engine::{Action, GuestSel, Targets};
use crate::engine::{
    AssignStaticIp, CloneGuest, CreateBackup, CreateGuestSnapshot, CreateLvmSnapshot, DeleteGuest,
    GuardedHostUpgrade, PruneBackups, Replicate, RestoreBackup, RestoreLvmSnapshot,
    RollbackGuestSnapshot, SyncBackup, VerifyBackup,
};
use crate::inventory::GuestInfo;
use crate::naming::Convention;
use crate::pve::GuestKind;

pub fn sel(g: &GuestInfo) -> GuestSel {
    GuestSel::of(g)
}

/// The guest the selection is about, in panes where rows are guests or theirs.
pub fn selected_guest(s: &State) -> Option<&GuestInfo> {
    let key = s.selected(s.pane)?;
    let vmid = match s.pane {
        PaneId::Resources => resources::vmid_of(key)?,
        PaneId::Snapshots => match snapshots::parse_snap_key(key) {
            Some((v, _)) => v,
            None => key.strip_prefix("guest:")?.parse().ok()?,
        },
        _ => return None,
    };
    s.world.inv().guest(vmid)
}

fn need_guest(s: &mut State, what: &str) -> Option<GuestInfo> {
    match selected_guest(s) {
        Some(g) => Some(g.clone()),
        None => {
            s.say(format!("select a guest to {what}"), Role::Warn);
            None
        }
    }
}

/// Other nodes of the convention a guest could be copied to.
fn node_choices(s: &State, except: Option<&str>) -> Vec<(String, String)> {
    let naming = &s.config.naming;
    let mut out: Vec<(String, String)> = naming
        .nodes
        .iter()
        .filter(|n| except != Some(n.pve_name.as_str()))
        .map(|n| (n.pve_name.clone(), format!("{} ({})", n.pve_name, n.name)))
        .collect();
    if out.is_empty() {
        out = s
            .world
            .inv()
            .nodes
            .iter()
            .filter(|n| except != Some(n.name.as_str()))
            .map(|n| (n.name.clone(), n.name.clone()))
            .collect();
    }
    out
}

/// The node a selected row is (Resources) or belongs to (an LVM snapshot row).
pub fn selected_node(s: &State) -> Option<String> {
    let key = s.selected(s.pane)?;
    match s.pane {
        PaneId::Resources => key.strip_prefix("node:").map(str::to_string),
        PaneId::Snapshots => key
            .strip_prefix("lvm:")
            .and_then(|r| r.split(':').next())
            .map(str::to_string),
        _ => None,
    }
}

pub fn lvm_snapshot_form(s: &mut State, node: &str) -> Form {
    let ops = &s.config.policies.ops.lvm;
    let fields = vec![
        Field::text(
            "volume",
            &ops.default_volume,
            Rule::Required,
            "VG/LV of the node",
        ),
        Field::text(
            "name",
            "",
            Rule::LvmName,
            &format!("empty: {}", ops.name_pattern),
        ),
        Field::text(
            "size",
            "",
            Rule::LvmSize,
            &format!("empty: {} of the origin", ops.snapshot_size),
        ),
        Field::text("description", "", Rule::Any, "why (kept in the catalog)"),
    ];
    Form::new(
        format!("LVM snapshot on {node}"),
        FormPurpose::LvmSnapshot {
            node: node.to_string(),
        },
        fields,
    )
}

pub fn backup_form(s: &mut State) -> Option<Form> {
    let g = need_guest(s, "back up")?;
    let storages: Vec<(String, String)> = s
        .world
        .inv()
        .storages
        .iter()
        .filter(|st| st.node == g.node && st.content.iter().any(|c| c == "backup"))
        .map(|st| {
            (
                st.storage.clone(),
                format!("{}{}", st.storage, if st.shared { " (shared)" } else { "" }),
            )
        })
        .collect();
    if storages.is_empty() {
        s.say(
            format!("{} has no storage that takes backups", g.node),
            Role::Warn,
        );
        return None;
    }
    let opts = |v: &[&str]| {
        v.iter()
            .map(|x| (x.to_string(), x.to_string()))
            .collect::<Vec<_>>()
    };
    let mut fields = vec![
        Field::choice("storage", storages, "←/→ where the archive goes"),
        Field::choice(
            "mode",
            opts(&["snapshot", "suspend", "stop"]),
            "snapshot: live; suspend: paused; stop: shut down",
        ),
        Field::choice(
            "compress",
            opts(&["zstd", "gzip", "lzo", "0"]),
            "compression",
        ),
        // Verifying runs on the node: on by default where proxdeck reaches it.
        Field::toggle(
            "verify",
            s.world.host_access,
            "check the archive afterwards (over SSH)",
        ),
        Field::toggle("prune", false, "apply retention afterwards"),
    ];
    if s.config.policies.ops.backup_sync.is_some() {
        fields.push(Field::toggle(
            "sync",
            false,
            "copy to the secondary storage afterwards",
        ));
    }
    Some(Form::new(
        format!("Back up {}", g.name),
        FormPurpose::Backup { guest: sel(&g) },
        fields,
    ))
}

/// The archive a Backups row stands for: (volid, node, storage, vmid).
pub fn selected_backup(s: &State) -> Option<crate::tui::world::BackupItem> {
    let key = s.selected(PaneId::Backups)?;
    let file = key.strip_prefix("backup:")?;
    s.world
        .backups
        .data
        .iter()
        .find(|b| b.file() == file)
        .cloned()
}

pub fn restore_form(s: &mut State) -> Option<Form> {
    let Some(b) = selected_backup(s) else {
        s.say("select a backup to restore", Role::Warn);
        return None;
    };
    let a = crate::backup::archive::parse(&b.content.volid)?;
    let kind = GuestKind::parse(&a.guest_type)?;
    let guest = b.content.vmid.and_then(|v| s.world.inv().guest(v)).map(sel);
    let fields = vec![
        Field::choice(
            "to node",
            node_choices(s, None),
            "←/→ the node the new guest goes to",
        ),
        Field::text(
            "name",
            "",
            Rule::NewGuestName,
            "empty: the next name of the convention",
        ),
        Field::text(
            "ip",
            "",
            Rule::AnyIpv4,
            "empty: the next free address of the node",
        ),
        Field::toggle("start", false, "start it when done"),
        Field::toggle(
            "snapshot node",
            false,
            "LVM snapshot of the target node's root first",
        ),
    ];
    Some(Form::new(
        format!("Restore {}", b.file()),
        FormPurpose::Restore {
            volid: b.content.volid.clone(),
            node: b.node.clone(),
            kind,
            guest,
        },
        fields,
    ))
}

/// Verify, sync or prune the selected archive.
pub fn backup_action(s: &mut State, what: &str) -> Option<Effect> {
    let Some(b) = selected_backup(s) else {
        s.say(format!("select a backup to {what}"), Role::Warn);
        return None;
    };
    let guest = b.content.vmid.and_then(|v| s.world.inv().guest(v)).map(sel);
    let action = match what {
        "verify" => Action::VerifyBackup(VerifyBackup {
            volid: b.content.volid.clone(),
            node: b.node.clone(),
            guest,
        }),
        "sync" => {
            let Some(t) = s.config.policies.ops.backup_sync.clone() else {
                s.say(
                    "no secondary storage: set backup_sync in action-policies.yml",
                    Role::Warn,
                );
                return None;
            };
            Action::SyncBackup(SyncBackup {
                volid: b.content.volid.clone(),
                node: b.node.clone(),
                to_node: t.node,
                to_storage: t.storage,
                guest,
            })
        }
        _ => Action::PruneBackups(PruneBackups {
            vmid: b.content.vmid?,
            storage: b.storage.clone(),
            node: b.node.clone(),
            guest,
        }),
    };
    Some(Effect::Propose {
        action,
        reason: None,
    })
}

pub fn upgrade(s: &mut State) -> Option<Effect> {
    let Some(node) = selected_node(s) else {
        s.say("select a node to upgrade", Role::Warn);
        return None;
    };
    Some(Effect::Propose {
        action: Action::GuardedHostUpgrade(GuardedHostUpgrade {
            node,
            command: None,
        }),
        reason: None,
    })
}

pub fn snapshot_form(s: &mut State) -> Option<Form> {
    if selected_guest(s).is_none()
        && let Some(node) = selected_node(s)
    {
        return Some(lvm_snapshot_form(s, &node));
    }
    let g = need_guest(s, "snapshot")?;
    let mut fields = vec![
        Field::text(
            "name",
            "",
            Rule::SnapshotName { vmid: g.vmid },
            "empty: named by the policy pattern",
        ),
        Field::text("description", "", Rule::Any, "why (kept with the snapshot)"),
    ];
    if g.kind == GuestKind::Qemu && g.is_running() {
        fields.push(Field::toggle(
            "with RAM",
            false,
            "include the VM's memory state",
        ));
    }
    Some(Form::new(
        format!("Snapshot {}", g.name),
        FormPurpose::Snapshot { guest: sel(&g) },
        fields,
    ))
}

pub fn replicate_form(s: &mut State) -> Option<Form> {
    let g = need_guest(s, "replicate")?;
    let mut options = vec![("all".to_string(), "all other nodes".to_string())];
    options.extend(node_choices(s, Some(&g.node)));
    let fields = vec![
        Field::choice("to", options, "←/→ choose: all nodes, or one"),
        Field::toggle("start", false, "start the replicas when done"),
    ];
    Some(Form::new(
        format!("Replicate {}", g.name),
        FormPurpose::Replicate { guest: sel(&g) },
        fields,
    ))
}

pub fn clone_form(s: &mut State) -> Option<Form> {
    let g = need_guest(s, "clone")?;
    let role = Convention::new(&s.config.naming)
        .role_of(&g.name, &g.tags)
        .unwrap_or_default();
    let fields = vec![
        Field::choice("to node", node_choices(s, None), "←/→ choose the node"),
        Field::text(
            "role",
            &role,
            Rule::Role,
            "the new name's {type} (the source's when empty)",
        ),
        Field::toggle("start", false, "start the clone when done"),
    ];
    Some(Form::new(
        format!("Clone {}", g.name),
        FormPurpose::Clone { guest: sel(&g) },
        fields,
    ))
}

pub fn assign_ip_form(s: &mut State) -> Option<Form> {
    let g = need_guest(s, "assign an address to")?;
    let next = next_free_ip(&g.node, g.kind, g.vmid, &s.world, &s.config)
        .map(|i| i.to_string())
        .unwrap_or_default();
    let fields = vec![
        Field::text(
            "ip",
            &next,
            Rule::Ipv4 {
                node: g.node.clone(),
                kind: g.kind,
                vmid: g.vmid,
            },
            "empty: the next free address of the node's range",
        ),
        Field::text("hostname", "", Rule::Hostname, "empty: from the name"),
    ];
    Some(Form::new(
        format!("Assign a static IP to {}", g.name),
        FormPurpose::AssignIp { guest: sel(&g) },
        fields,
    ))
}

pub fn reject_form(id: &str, describe: &str) -> Form {
    Form::new(
        format!("Reject: {describe}"),
        FormPurpose::Reject { id: id.to_string() },
        vec![Field::text(
            "reason",
            "",
            Rule::Required,
            "recorded in the audit log",
        )],
    )
}

/// The effect of sending a filled form.
pub fn submit_form(form: &Form) -> Effect {
    let v = |label: &str| form.get(label).map(|f| f.value()).unwrap_or_default();
    let opt = |label: &str| Some(v(label)).filter(|x| !x.is_empty());
    let on = |label: &str| form.get(label).is_some_and(|f| f.on());
    let action = match &form.purpose {
        FormPurpose::Reject { id } => {
            return Effect::Reject {
                id: id.clone(),
                why: v("reason"),
            };
        }
        FormPurpose::Snapshot { guest } => Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: guest.clone(),
            name: opt("name"),
            description: opt("description"),
            vmstate: on("with RAM"),
        }),
        FormPurpose::Replicate { guest } => Action::Replicate(Replicate {
            source: guest.clone(),
            targets: match v("to").as_str() {
                "all" => Targets::All,
                node => Targets::Nodes(vec![node.to_string()]),
            },
            start: on("start"),
        }),
        FormPurpose::Clone { guest } => Action::CloneGuest(CloneGuest {
            source: guest.clone(),
            target_node: v("to node"),
            role: opt("role"),
            start: on("start"),
        }),
        FormPurpose::Backup { guest } => Action::CreateBackup(CreateBackup {
            guest: guest.clone(),
            storage: v("storage"),
            mode: v("mode"),
            compress: v("compress"),
            notes: None,
            verify: on("verify"),
            sync: on("sync"),
            prune: on("prune"),
        }),
        FormPurpose::LvmSnapshot { node } => Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: node.clone(),
            volume: opt("volume"),
            name: opt("name"),
            size: opt("size"),
            description: opt("description"),
        }),
        FormPurpose::Restore {
            volid,
            node,
            kind,
            guest,
        } => Action::RestoreBackup(RestoreBackup {
            volid: volid.clone(),
            node: node.clone(),
            target_node: v("to node"),
            new_name: opt("name"),
            new_ip: opt("ip").and_then(|i| i.parse().ok()),
            new_mac: None,
            start: on("start"),
            snapshot_target: on("snapshot node"),
            guest: guest.clone(),
            kind: *kind,
        }),
        FormPurpose::AssignIp { guest } => Action::AssignStaticIp(AssignStaticIp {
            guest: guest.clone(),
            ip: opt("ip").and_then(|i| i.parse().ok()),
            mac: None,
            hostname: opt("hostname"),
        }),
    };
    Effect::Propose {
        action,
        reason: None,
    }
}

/// Roll back to the selected snapshot (Snapshots pane); an LVM snapshot is merged back.
pub fn rollback(s: &mut State) -> Option<Effect> {
    let key = s.selected(PaneId::Snapshots)?.to_string();
    if let Some(rest) = key.strip_prefix("lvm:") {
        // lvm:NODE:VG/LV/NAME
        let (node, path) = rest.split_once(':')?;
        let (volume, name) = path.rsplit_once('/')?;
        return Some(Effect::Propose {
            action: Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
                node: node.to_string(),
                volume: volume.to_string(),
                name: name.to_string(),
            }),
            reason: None,
        });
    }
    let Some((vmid, name)) = snapshots::parse_snap_key(&key) else {
        s.say("select a snapshot to roll back to", Role::Warn);
        return None;
    };
    if name == "current" {
        s.say("that is the running state; select a snapshot", Role::Warn);
        return None;
    }
    let g = s.world.inv().guest(vmid)?.clone();
    Some(Effect::Propose {
        action: Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: sel(&g),
            snapshot: name.to_string(),
            start: g.is_running(),
        }),
        reason: None,
    })
}

pub fn delete_guest(s: &mut State) -> Option<Effect> {
    let g = need_guest(s, "delete")?;
    Some(Effect::Propose {
        action: Action::DeleteGuest(DeleteGuest { guest: sel(&g) }),
        reason: None,
    })
}
