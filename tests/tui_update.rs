//! The console's behaviour without a terminal: keys and data in, state and
//! proposed effects out.

mod common;

use common::tui::{busy_state, ch, press, replication, seed_state, sel, status_text, typed};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proxdeck::engine::{Action, ActionState, EngineEvent, Targets};
use proxdeck::engine::{
    AssignStaticIp, CreateBackup, CreateGuestSnapshot, CreateLvmSnapshot, GuardedHostUpgrade,
    PruneBackups, Replicate, RestoreBackup, RestoreLvmSnapshot, RollbackGuestSnapshot,
    VerifyBackup,
};
use proxdeck::tui::msg::{Effect, Msg};
use proxdeck::tui::panes::PaneId;
use proxdeck::tui::state::{ConfirmKind, Dialog, Mode};
use proxdeck::tui::update::update;

fn keys(s: &proxdeck::tui::state::State, pane: PaneId) -> Vec<String> {
    s.table(pane).rows.iter().map(|r| r.key.clone()).collect()
}

fn select(s: &mut proxdeck::tui::state::State, key: &str) {
    let pane = s.pane;
    let t = s.table(pane).clone();
    assert!(
        s.lists.entry(pane).or_default().select(&t, key),
        "{key} not in {pane:?}"
    );
}

#[test]
fn tab_numbers_and_the_command_line_switch_panes() {
    let mut s = seed_state(160, 48);
    assert_eq!(s.pane, PaneId::Resources);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.pane, PaneId::Snapshots);
    press(&mut s, KeyCode::BackTab);
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.pane, PaneId::Tasks);
    ch(&mut s, '3');
    assert_eq!(s.pane, PaneId::Backups);
    ch(&mut s, ':');
    typed(&mut s, "approvals");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.pane, PaneId::Approvals);
    assert!(matches!(s.mode, Mode::Normal));
}

#[test]
fn the_filter_keeps_matches_and_their_parents_and_escape_clears_it() {
    let mut s = seed_state(160, 48);
    ch(&mut s, '/');
    typed(&mut s, "db-01");
    // Applied while typing.
    assert_eq!(
        keys(&s, PaneId::Resources),
        ["cluster", "node:pve-node-01", "guest:101"]
    );
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        s.selected(PaneId::Resources),
        Some("guest:101"),
        "enter jumps to the first match"
    );
    press(&mut s, KeyCode::Esc);
    assert_eq!(keys(&s, PaneId::Resources).len(), 8);
    assert_eq!(
        s.selected(PaneId::Resources),
        Some("guest:101"),
        "selection kept"
    );
    // A regular expression after ~; a broken one says why and matches nothing.
    ch(&mut s, '/');
    typed(&mut s, "~^pve-(db|web)-");
    press(&mut s, KeyCode::Enter);
    let k = keys(&s, PaneId::Resources);
    assert!(
        k.contains(&"guest:101".to_string()) && k.contains(&"guest:105".to_string()),
        "{k:?}"
    );
    assert!(!k.contains(&"guest:102".to_string()));
    ch(&mut s, '/');
    typed(&mut s, "(");
    assert!(
        s.status
            .as_ref()
            .is_some_and(|st| st.text.starts_with("regex")),
        "{:?}",
        s.status
    );
}

#[test]
fn selection_follows_the_guest_when_rows_move() {
    let mut s = seed_state(160, 48);
    select(&mut s, "guest:105");
    // A new guest appears on an earlier node and another disappears.
    let mut inv = (*s.world.inventory.data).clone();
    let mut extra = inv.guests[0].clone();
    extra.vmid = 120;
    extra.name = "pve-new-01".into();
    inv.guests.push(extra);
    inv.guests.retain(|g| g.vmid != 103);
    let read = proxdeck::tui::msg::InventoryRead {
        inventory: std::sync::Arc::new(inv),
        meta: Default::default(),
        ip: Default::default(),
        stats: Default::default(),
    };
    let at = s.now + 5;
    update(&mut s, Msg::Inventory(Ok(read), at));
    assert_eq!(s.selected(PaneId::Resources), Some("guest:105"));
    let idx = s.list(PaneId::Resources).index;
    assert_eq!(s.table(PaneId::Resources).rows[idx].key, "guest:105");
}

#[test]
fn sorting_reorders_guests_within_their_node() {
    let mut s = seed_state(160, 48);
    // VMID descending.
    ch(&mut s, 'o');
    ch(&mut s, 'O');
    let k = keys(&s, PaneId::Resources);
    let node1: Vec<&str> = k
        .iter()
        .skip_while(|k| *k != "node:pve-node-01")
        .skip(1)
        .take(3)
        .map(String::as_str)
        .collect();
    assert_eq!(node1, ["guest:103", "guest:102", "guest:101"]);
}

#[test]
fn replicate_opens_a_form_whose_choice_becomes_the_action() {
    let mut s = seed_state(160, 48);
    select(&mut s, "guest:101");
    ch(&mut s, 'r');
    assert!(matches!(s.dialogs.last(), Some(Dialog::Form(f)) if f.title == "Replicate pve-db-01"));
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::Propose {
            action: Action::Replicate(Replicate {
                source: sel(&s, "pve-db-01"),
                targets: Targets::All,
                start: false
            }),
            reason: None
        }]
    );
    assert!(s.busy.is_some());
    // One node instead, started afterwards.
    s.busy = None;
    ch(&mut s, 'r');
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Tab);
    ch(&mut s, ' ');
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::Propose {
            action: Action::Replicate(Replicate {
                source: sel(&s, "pve-db-01"),
                targets: Targets::Nodes(vec!["pve-node-02".into()]),
                start: true
            }),
            reason: None
        }]
    );
}

#[test]
fn action_keys_on_a_node_ask_for_a_guest() {
    let mut s = seed_state(160, 48);
    select(&mut s, "node:pve-node-02");
    let fx = ch(&mut s, 'r');
    assert!(fx.is_empty() && s.dialogs.is_empty());
    assert_eq!(
        s.status.as_ref().map(|x| x.text.as_str()),
        Some("select a guest to replicate")
    );
}

#[test]
fn the_confirmation_carries_the_planned_action_and_its_hash() {
    let mut s = seed_state(160, 48);
    let mut planned = replication(&s, "repl-101-x", ActionState::Proposed, 0.0).record;
    planned.state = ActionState::Proposed;
    update(&mut s, Msg::Planned(Ok(planned.clone())));
    match s.dialogs.last() {
        Some(Dialog::Confirm(c)) => {
            assert!(matches!(&c.kind, ConfirmKind::Submit { record } if record.id == "repl-101-x"))
        }
        other => panic!("{other:?}"),
    }
    let fx = ch(&mut s, 'y');
    assert_eq!(
        fx,
        vec![Effect::Submit {
            id: "repl-101-x".into(),
            hash: planned.plan_hash.clone().unwrap_or_default()
        }]
    );
    // Dropping instead frees what was reserved.
    update(&mut s, Msg::Planned(Ok(planned)));
    let fx = ch(&mut s, 'n');
    assert_eq!(
        fx,
        vec![Effect::Discard {
            id: "repl-101-x".into()
        }]
    );
    assert!(s.dialogs.is_empty());
}

#[test]
fn a_policy_refusal_is_shown_with_its_rule() {
    let mut s = seed_state(160, 48);
    update(&mut s, Msg::Planned(Err("refused by policy (prohibited.delete_primary_templates): a template on the primary node".into())));
    match s.dialogs.last() {
        Some(Dialog::Message { text, .. }) => assert!(text.contains("delete_primary_templates")),
        other => panic!("{other:?}"),
    }
    ch(&mut s, 'x');
    assert!(s.dialogs.is_empty(), "any key closes the message");
}

#[test]
fn queued_for_approval_goes_to_the_approvals_pane() {
    let mut s = busy_state(160, 48);
    let mut rec = s.world.actions.data[1].record.clone();
    rec.state = ActionState::PendingApproval;
    let fx = update(&mut s, Msg::Submitted(Ok(rec.clone())));
    assert_eq!(fx, vec![Effect::Refresh]);
    assert_eq!(s.pane, PaneId::Approvals);
    assert_eq!(s.selected(PaneId::Approvals), Some(rec.id.as_str()));
    // Listed before the next read of the queue: `a` works at once.
    let mut fresh = rec.clone();
    fresh.id = "repl-new".into();
    update(&mut s, Msg::Submitted(Ok(fresh)));
    assert_eq!(s.selected(PaneId::Approvals), Some("repl-new"));
    ch(&mut s, 'a');
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Confirm(c)) if matches!(&c.kind, ConfirmKind::Approve { record } if record.id == "repl-new"))
    );
    assert!(status_text(&s).contains("waits for approval"));
}

#[test]
fn approving_shows_the_plan_and_sends_its_hash_and_reason() {
    let mut s = busy_state(160, 48);
    ch(&mut s, '6');
    let pending = s.world.actions.data[1].record.clone();
    assert_eq!(s.selected(PaneId::Approvals), Some(pending.id.as_str()));
    ch(&mut s, 'a');
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Confirm(c)) if matches!(c.kind, ConfirmKind::Approve { .. }))
    );
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "checked with ops");
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::Approve {
            id: pending.id.clone(),
            hash: pending.plan_hash.clone().unwrap_or_default(),
            reason: Some("checked with ops".into())
        }]
    );
}

#[test]
fn rejecting_needs_a_reason() {
    let mut s = busy_state(160, 48);
    ch(&mut s, '6');
    ch(&mut s, 'x');
    let fx = press(&mut s, KeyCode::Enter);
    assert!(fx.is_empty());
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Form(f)) if f.error.as_deref() == Some("reason: required"))
    );
    typed(&mut s, "wrong node");
    let fx = press(&mut s, KeyCode::Enter);
    let id = s.world.actions.data[1].record.id.clone();
    assert_eq!(
        fx,
        vec![Effect::Reject {
            id,
            why: "wrong node".into()
        }]
    );
}

#[test]
fn the_ip_form_suggests_a_free_address_and_refuses_taken_ones() {
    let mut s = busy_state(160, 48);
    // pve-av-01 (qemu on node-01): .101 is pve-db-01's, .103 reserved for pve-cache-01.
    select(&mut s, "guest:102");
    ch(&mut s, 'i');
    let Some(Dialog::Form(f)) = s.dialogs.last() else {
        panic!("no form")
    };
    // The lowest free address of node-01's VM range (.100-.199).
    assert_eq!(f.fields[0].value(), "192.168.1.100");
    // Clear and type an address another guest has.
    for _ in 0..20 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "192.168.1.101");
    let fx = press(&mut s, KeyCode::Enter);
    assert!(fx.is_empty());
    let Some(Dialog::Form(f)) = s.dialogs.last() else {
        panic!("no form")
    };
    let err = f.error.clone().unwrap_or_default();
    assert!(err.contains("pve-db-01"), "{err}");
    for (text, why) in [
        ("192.168.1.103", "pve-cache-01"),
        ("192.168.2.150", "subnet"),
        ("192.168.1.220", "VM range"),
        ("192.168.1.1", "gateway"),
    ] {
        for _ in 0..20 {
            press(&mut s, KeyCode::Backspace);
        }
        typed(&mut s, text);
        press(&mut s, KeyCode::Enter);
        let Some(Dialog::Form(f)) = s.dialogs.last() else {
            panic!("no form")
        };
        let err = f.error.clone().unwrap_or_default();
        assert!(err.contains(why), "{text}: {err}");
    }
    for _ in 0..20 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "192.168.1.150");
    let fx = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::AssignStaticIp(AssignStaticIp { ip: Some(ip), .. }), .. }] if ip.to_string() == "192.168.1.150"),
        "{fx:?}"
    );
}

#[test]
fn the_snapshot_form_checks_names_against_the_guest() {
    let mut s = seed_state(160, 48);
    select(&mut s, "guest:102");
    ch(&mut s, 's');
    typed(&mut s, "pre-upgrade");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let Some(Dialog::Form(f)) = s.dialogs.last() else {
        panic!("no form")
    };
    assert!(
        f.error
            .as_deref()
            .unwrap_or("")
            .contains("already has a snapshot"),
        "{:?}",
        f.error
    );
    for _ in 0..11 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "before-patch");
    let fx = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::CreateGuestSnapshot(CreateGuestSnapshot { name: Some(n), .. }), .. }] if n == "before-patch"),
        "{fx:?}"
    );
}

#[test]
fn rollback_targets_the_selected_snapshot_only() {
    let mut s = seed_state(160, 48);
    ch(&mut s, '2');
    select(&mut s, "snap:102:current");
    assert!(ch(&mut s, 'r').is_empty());
    select(&mut s, "snap:102:pre-upgrade");
    let fx = ch(&mut s, 'r');
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::RollbackGuestSnapshot(RollbackGuestSnapshot { snapshot, start: true, .. }), .. }] if snapshot == "pre-upgrade"),
        "{fx:?}"
    );
}

#[test]
fn read_only_refuses_every_mutation_and_says_why() {
    let mut s = busy_state(160, 48);
    s.read_only = Some("started with --read-only".into());
    select(&mut s, "guest:101");
    for c in ['r', 'c', 's', 'i', 'D'] {
        assert!(ch(&mut s, c).is_empty(), "{c}");
        assert!(s.dialogs.is_empty());
        let st = status_text(&s);
        assert!(
            st.contains("disabled: started with --read-only"),
            "{c}: {st}"
        );
    }
    ch(&mut s, '6');
    assert!(ch(&mut s, 'a').is_empty() && s.dialogs.is_empty());
    ch(&mut s, ':');
    typed(&mut s, "replicate pve-db-01 --to all");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(status_text(&s).contains("read-only"));
}

#[test]
fn the_command_line_completes_and_proposes() {
    let mut s = seed_state(160, 48);
    ch(&mut s, ':');
    typed(&mut s, "repl");
    // Two commands start so: the common part is completed first.
    press(&mut s, KeyCode::Tab);
    match &s.mode {
        Mode::Command { input, .. } => assert_eq!(input.lines().join(""), "replicat"),
        other => panic!("{other:?}"),
    }
    typed(&mut s, "e pve-d");
    press(&mut s, KeyCode::Tab);
    match &s.mode {
        Mode::Command { input, .. } => assert_eq!(input.lines().join(""), "replicate pve-db-01 "),
        other => panic!("{other:?}"),
    }
    typed(&mut s, "--to pve-node-03");
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::Propose {
            action: Action::Replicate(Replicate {
                source: sel(&s, "pve-db-01"),
                targets: Targets::Nodes(vec!["pve-node-03".into()]),
                start: false
            }),
            reason: None
        }]
    );
    ch(&mut s, ':');
    typed(&mut s, "ip node-02");
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        (s.pane, s.ip.node.as_deref()),
        (PaneId::IpMap, Some("node-02"))
    );
    assert_eq!(
        s.table(PaneId::IpMap).rows.first().map(|r| r.key.as_str()),
        Some("192.168.2.0")
    );
    ch(&mut s, ':');
    typed(&mut s, "frobnicate");
    press(&mut s, KeyCode::Enter);
    assert!(status_text(&s).contains("unknown command"));
}

#[test]
fn quitting_asks_first_only_while_actions_run_here() {
    let mut s = seed_state(160, 48);
    assert_eq!(ch(&mut s, 'q'), vec![Effect::Quit]);
    let mut s = busy_state(160, 48);
    s.owner = Some("me".into());
    let mut running = s.world.actions.data.clone();
    running[0].record.lease_owner = Some("me".into());
    let at = s.now;
    update(&mut s, Msg::Actions(Ok(running), at));
    assert!(ch(&mut s, 'q').is_empty());
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Confirm(c)) if matches!(c.kind, ConfirmKind::Quit { running: 1 }))
    );
    assert_eq!(ch(&mut s, 'y'), vec![Effect::Quit]);
}

#[test]
fn progress_events_move_the_gauges() {
    let mut s = busy_state(160, 48);
    ch(&mut s, '5');
    let id = s.world.actions.data[0].record.id.clone();
    let before =
        proxdeck::tui::panes::replication::overall_percent(&s.world, &s.world.actions.data[0]);
    update(
        &mut s,
        Msg::Engine(EngineEvent::Progress {
            id: id.clone(),
            key: "migrate@pve-node-02".into(),
            target: Some("pve-node-02".into()),
            percent: 90.0,
        }),
    );
    let after =
        proxdeck::tui::panes::replication::overall_percent(&s.world, &s.world.actions.data[0]);
    assert!(after > before, "{before} -> {after}");
    let t = s.table(PaneId::Replication);
    let row = &t.rows[t.position(&id).expect("listed")];
    assert!(row.cells[2].text.contains("76%"), "{:?}", row.cells[2]);
}

#[test]
fn stale_or_unreachable_data_is_flagged_never_shown_as_current() {
    let mut s = seed_state(160, 48);
    let (text, _) = proxdeck::tui::view::data_age(&s);
    assert_eq!(text, "● updated 0s ago");
    let later = s.now + 16;
    update(&mut s, Msg::Tick(later));
    let (text, role) = proxdeck::tui::view::data_age(&s);
    assert!(
        text.contains("stale") && role == proxdeck::tui::theme::Role::Warn,
        "{text}"
    );
    let at = s.now;
    update(&mut s, Msg::Inventory(Err("connection refused".into()), at));
    let (text, role) = proxdeck::tui::view::data_age(&s);
    assert!(
        text.contains("unreachable")
            && text.contains("connection refused")
            && text.contains("16s ago"),
        "{text}"
    );
    assert_eq!(role, proxdeck::tui::theme::Role::Error);
    // The last good data stays listed, flagged by the header.
    assert_eq!(keys(&s, PaneId::Resources).len(), 8);
}

#[test]
fn the_tree_folds_and_unfolds() {
    let mut s = seed_state(160, 48);
    select(&mut s, "node:pve-node-01");
    press(&mut s, KeyCode::Left);
    assert!(!keys(&s, PaneId::Resources).contains(&"guest:101".to_string()));
    press(&mut s, KeyCode::Right);
    assert!(keys(&s, PaneId::Resources).contains(&"guest:101".to_string()));
    select(&mut s, "guest:103");
    press(&mut s, KeyCode::Left);
    assert_eq!(s.selected(PaneId::Resources), Some("node:pve-node-01"));
}

#[test]
fn the_ip_map_moves_by_rows_and_switches_subnets() {
    let mut s = busy_state(160, 48);
    ch(&mut s, '4');
    assert_eq!(s.selected(PaneId::IpMap), Some("192.168.1.0"));
    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Right);
    assert_eq!(s.selected(PaneId::IpMap), Some("192.168.1.17"));
    ch(&mut s, 'n');
    assert_eq!(s.ip.node.as_deref(), Some("node-02"));
    assert_eq!(s.selected(PaneId::IpMap), Some("192.168.2.0"));
}

#[test]
fn tasks_open_their_log_and_escape_stops_following() {
    let mut s = seed_state(160, 48);
    ch(&mut s, '7');
    let key = s.selected(PaneId::Tasks).expect("a task").to_string();
    let fx = press(&mut s, KeyCode::Enter);
    let upid = key.strip_prefix("task:").expect("task row").to_string();
    assert_eq!(
        fx,
        vec![Effect::OpenLog(proxdeck::tui::state::LogSource::Task {
            upid: upid.clone()
        })]
    );
    update(
        &mut s,
        Msg::LogLines {
            source: proxdeck::tui::state::LogSource::Task { upid },
            lines: vec!["INFO: one".into(), "TASK OK".into()],
            finished: true,
            error: None,
        },
    );
    assert!(matches!(s.dialogs.last(), Some(Dialog::Log(v)) if v.lines.len() == 2 && v.finished));
    assert_eq!(press(&mut s, KeyCode::Esc), vec![Effect::CloseLog]);
    assert!(s.dialogs.is_empty());
}

#[test]
fn help_lists_every_binding_of_the_keymap() {
    let mut s = seed_state(160, 200);
    ch(&mut s, '?');
    let screen = common::tui::screen(&s);
    for b in &s.keymap.bindings {
        let keys = b
            .keys
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            screen.contains(&keys),
            "help lacks {keys} ({})",
            b.cmd.name()
        );
        assert!(
            screen.contains(&b.cmd.help()),
            "help lacks {}",
            b.cmd.help()
        );
    }
}

#[test]
fn ctrl_c_quits_from_normal_mode() {
    let mut s = seed_state(80, 24);
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(fx, vec![Effect::Quit]);
}

#[test]
fn backup_keys_build_backup_actions() {
    let mut s = busy_state(160, 48);
    select(&mut s, "guest:105");
    ch(&mut s, 'b');
    assert!(matches!(s.dialogs.last(), Some(Dialog::Form(f)) if f.title == "Back up pve-web-01"));
    let fx = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::CreateBackup(CreateBackup { storage, mode, compress, verify: true, prune: false, .. }), .. }]
            if storage == "local" || storage == "nfs-backup" && mode == "snapshot" && compress == "zstd"),
        "{fx:?}"
    );
    s.busy = None;
    ch(&mut s, '3');
    let key = s
        .table(PaneId::Backups)
        .rows
        .iter()
        .find(|r| r.cells[0].text.contains("pve-web-01"))
        .map(|r| r.key.clone())
        .expect("a web backup");
    select(&mut s, &key);
    let fx = ch(&mut s, 'v');
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::VerifyBackup(VerifyBackup { volid, .. }), .. }] if key.ends_with(volid.rsplit('/').next().unwrap_or(""))),
        "{fx:?}"
    );
    s.busy = None;
    let fx = ch(&mut s, 'p');
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::PruneBackups(PruneBackups { vmid: 105, storage, .. }), .. }] if storage == "nfs-backup"),
        "{fx:?}"
    );
    s.busy = None;
    // No secondary storage configured: sync says so.
    assert!(ch(&mut s, 'y').is_empty());
    assert!(status_text(&s).contains("backup_sync"));
    ch(&mut s, 'R');
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Form(f)) if f.title.starts_with("Restore vzdump-lxc-105"))
    );
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "pve-web-01");
    assert!(
        press(&mut s, KeyCode::Enter).is_empty(),
        "a name in use is refused in the form"
    );
    for _ in 0..10 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "pve-web-07");
    let fx = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::RestoreBackup(RestoreBackup { target_node, new_name: Some(n), kind: proxdeck::pve::GuestKind::Lxc, .. }), .. }]
            if target_node == "pve-node-02" && n == "pve-web-07"),
        "{fx:?}"
    );
}

#[test]
fn node_and_lvm_keys_build_host_actions() {
    let mut s = busy_state(160, 48);
    select(&mut s, "node:pve-node-01");
    ch(&mut s, 's');
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Form(f)) if f.title == "LVM snapshot on pve-node-01")
    );
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "before-kernel");
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "12x");
    assert!(
        press(&mut s, KeyCode::Enter).is_empty(),
        "a bad size is refused"
    );
    press(&mut s, KeyCode::Backspace);
    typed(&mut s, "%");
    let fx = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::CreateLvmSnapshot(CreateLvmSnapshot { node, volume: Some(v), name: Some(n), size: Some(z), .. }), .. }]
            if node == "pve-node-01" && v == "pve/root" && n == "before-kernel" && z == "12%"),
        "{fx:?}"
    );
    s.busy = None;
    let fx = ch(&mut s, 'U');
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::GuardedHostUpgrade(GuardedHostUpgrade { node, command: None }), .. }] if node == "pve-node-01"),
        "{fx:?}"
    );
    s.busy = None;
    ch(&mut s, '2');
    select(&mut s, "lvm:pve-node-01:pve/root/pre-upgrade-2026-11-20");
    let fx = ch(&mut s, 'r');
    assert!(
        matches!(&fx[..], [Effect::Propose { action: Action::RestoreLvmSnapshot(RestoreLvmSnapshot { node, volume, name }), .. }]
            if node == "pve-node-01" && volume == "pve/root" && name == "pre-upgrade-2026-11-20"),
        "{fx:?}"
    );
}
