//! What the keys on a selected item propose: the forms they open and the
//! actions those forms (or the keys directly) build. Nothing here changes the
//! cluster; actions go to the engine to be planned and shown first.

use super::forms::{Field, Form, FormPurpose, Rule, next_free_ip};
use super::msg::Effect;
use super::pane::PaneId;
use super::panes::{resources, snapshots};
use super::state::State;
use super::theme::Role;
use crate::engine::{Action, GuestSel, Targets};
use crate::inventory::GuestInfo;
use crate::naming::Convention;
use crate::pve::GuestKind;

pub fn sel(g: &GuestInfo) -> GuestSel {
    GuestSel {
        vmid: g.vmid,
        name: g.name.clone(),
        node: g.node.clone(),
        kind: g.kind,
        tags: g.tags.clone(),
        template: g.template,
    }
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

pub fn snapshot_form(s: &mut State) -> Option<Form> {
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
        FormPurpose::Snapshot { guest } => Action::CreateGuestSnapshot {
            guest: guest.clone(),
            name: opt("name"),
            description: opt("description"),
            vmstate: on("with RAM"),
        },
        FormPurpose::Replicate { guest } => Action::Replicate {
            source: guest.clone(),
            targets: match v("to").as_str() {
                "all" => Targets::All,
                node => Targets::Nodes(vec![node.to_string()]),
            },
            start: on("start"),
        },
        FormPurpose::Clone { guest } => Action::CloneGuest {
            source: guest.clone(),
            target_node: v("to node"),
            role: opt("role"),
            start: on("start"),
        },
        FormPurpose::AssignIp { guest } => Action::AssignStaticIp {
            guest: guest.clone(),
            ip: opt("ip").and_then(|i| i.parse().ok()),
            mac: None,
            hostname: opt("hostname"),
        },
    };
    Effect::Propose {
        action,
        reason: None,
    }
}

/// Roll back to the selected snapshot (Snapshots pane).
pub fn rollback(s: &mut State) -> Option<Effect> {
    let key = s.selected(PaneId::Snapshots)?.to_string();
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
        action: Action::RollbackGuestSnapshot {
            guest: sel(&g),
            snapshot: name.to_string(),
            start: g.is_running(),
        },
        reason: None,
    })
}

pub fn delete_guest(s: &mut State) -> Option<Effect> {
    let g = need_guest(s, "delete")?;
    Some(Effect::Propose {
        action: Action::DeleteGuest { guest: sel(&g) },
        reason: None,
    })
}
