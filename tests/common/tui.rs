//! Console fixtures: the seed cluster as recorded from the simulator
//! (tests/data/tui/seed-world.json), with hand-made actions and address
//! records, rendered through ratatui's TestBackend.

use proxdeck::engine::Replicate;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proxdeck::config::Config;
use proxdeck::engine::journal::{StepRow, StepState};
use proxdeck::engine::plan::{Plan, PlanStep, Strategy, TargetPlan};
use proxdeck::engine::{
    Action, ActionOverview, ActionRecord, ActionState, Actor, GuestSel, TargetResult, Targets, Via,
};
use proxdeck::ipam::{AllocState, Allocation};
use proxdeck::pve::GuestKind;
use proxdeck::tui::keymap::Keymap;
use proxdeck::tui::msg::{Effect, Msg};
use proxdeck::tui::recording::Recording;
use proxdeck::tui::state::State;
use proxdeck::tui::theme::Theme;
use proxdeck::tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

pub fn recording() -> Recording {
    let text = std::fs::read_to_string(super::repo().join("tests/data/tui/seed-world.json"))
        .expect("fixture");
    Recording::parse(&text).expect("recording")
}

pub fn config() -> Config {
    Config::load(&super::repo().join("config")).expect("repository config")
}

/// The console on the recorded seed cluster, as a refresh left it.
pub fn seed_state(w: u16, h: u16) -> State {
    let rec = recording();
    let world = rec.world("seed-lab", "admin@10.0.0.5");
    let mut s = State::new(
        Arc::new(config()),
        world,
        Keymap::default(),
        Theme::built_in("default").expect("theme"),
        rec.captured_unix,
    )
    // Times on screen are read in UTC, wherever the tests run.
    .with_zone(jiff::tz::TimeZone::UTC);
    s.size = (w, h);
    s
}

pub fn sel(s: &State, name: &str) -> GuestSel {
    proxdeck::tui::intents::sel(s.world.inv().find(name).expect("guest"))
}

fn target(node: &str, vmid: u32, name: &str, ip: &str, mac: &str) -> TargetPlan {
    TargetPlan {
        node: node.into(),
        vmid,
        name: name.into(),
        hostname: name.into(),
        ip: Some(ip.parse().expect("ip")),
        prefix_len: 24,
        gateway: Some(
            ip.rsplit_once('.')
                .map(|(n, _)| format!("{n}.1"))
                .unwrap_or_default()
                .parse()
                .expect("gw"),
        ),
        mac: Some(mac.parse().expect("mac")),
        bridge: "vmbr0".into(),
        nameserver: None,
        strategy: Some(Strategy::CloneThenMigrate),
        storage: None,
        ip_allocation: None,
        name_reservation: None,
        from_snapshot: None,
        eject: Vec::new(),
        delivery: None,
    }
}

/// The design's replication of pve-db-01 to both other nodes.
pub fn replication(s: &State, id: &str, state: ActionState, progress: f64) -> ActionOverview {
    let targets = vec![
        target(
            "pve-node-02",
            201,
            "pve-db-02",
            "192.168.2.101",
            "02:00:00:a2:65:01",
        ),
        target(
            "pve-node-03",
            301,
            "pve-db-03",
            "192.168.3.101",
            "02:00:00:a3:65:01",
        ),
    ];
    copy_action(s, id, "pve-db-01", Targets::All, targets, state, progress)
}

/// pve-av-01 to node-03 only.
pub fn replication_av(s: &State, id: &str, state: ActionState) -> ActionOverview {
    let targets = vec![target(
        "pve-node-03",
        302,
        "pve-av-03",
        "192.168.3.102",
        "02:00:00:a3:66:01",
    )];
    copy_action(
        s,
        id,
        "pve-av-01",
        Targets::Nodes(vec!["pve-node-03".into()]),
        targets,
        state,
        0.0,
    )
}

fn copy_action(
    s: &State,
    id: &str,
    source: &str,
    to: Targets,
    targets: Vec<TargetPlan>,
    state: ActionState,
    progress: f64,
) -> ActionOverview {
    let t = s.now;
    let src = sel(s, source);
    let mut steps = Vec::new();
    for tp in &targets {
        for (k, d) in [
            ("prepare", "check the source and VMID"),
            ("clone", "full clone on the source node"),
            ("migrate", "offline migration"),
            ("configure", "set name, MAC and address"),
            ("record", "record metadata"),
        ] {
            steps.push(PlanStep {
                seq: steps.len() as u32 + 1,
                key: format!("{k}@{}", tp.node),
                target: Some(tp.node.clone()),
                description: format!("{d} ({})", tp.name),
            });
        }
    }
    let plan = Plan {
        summary: format!(
            "Replicate {} (VM {}) from {} to {}",
            src.name,
            src.vmid,
            src.node,
            targets
                .iter()
                .map(|t| t.node.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        steps: steps.clone(),
        targets: targets.clone(),
        snapshot: None,
        safety_snapshot: None,
        notes: vec![],
        params: Default::default(),
    };
    let done = state == ActionState::Succeeded;
    let running = state == ActionState::Running;
    let step_rows = steps
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let finished = done || (running && i % 5 < 2);
            StepRow {
                seq: st.seq,
                key: st.key.clone(),
                target: st.target.clone(),
                state: if finished {
                    StepState::Done
                } else if running && i % 5 == 2 {
                    StepState::Running
                } else {
                    StepState::Pending
                },
                upid: None,
                detail: None,
                started_at: (finished || (running && i % 5 == 2)).then_some(t - 40),
                finished_at: finished.then_some(t - 20),
                error: None,
            }
        })
        .collect();
    let status = match state {
        ActionState::Succeeded => "success",
        ActionState::Running => "running",
        _ => "pending",
    };
    ActionOverview {
        record: ActionRecord {
            id: id.into(),
            cluster: "seed-lab".into(),
            kind: "replicate_resource".into(),
            action: Action::Replicate(Replicate {
                source: src.clone(),
                targets: to,
                start: false,
            }),
            plan_hash: Some(plan.hash()),
            plan: Some(plan),
            state,
            proposed_by: Actor {
                who: "alice".into(),
                from: Some("10.0.0.7".into()),
                via: Via::Tui,
            },
            reason: Some("new database template for every node".into()),
            policy_rule: Some("approval_required: replicate_resource".into()),
            created_at: t - 95,
            updated_at: t - 10,
            lease_owner: None,
            lease_expires: None,
            attempts: 0,
            cancel_requested: false,
            result: None,
            error: None,
            waiting: None,
        },
        steps: step_rows,
        targets: targets
            .iter()
            .map(|tp| TargetResult {
                target_node: tp.node.clone(),
                new_resource_id: tp.vmid.to_string(),
                new_resource_name: tp.name.clone(),
                ip: tp.ip.map(|i| i.to_string()),
                mac: tp.mac.map(|m| m.to_string()),
                status: proxdeck::engine::TargetStatus::parse(status),
                progress: running.then_some(progress),
                error: None,
            })
            .collect(),
        log_tail: vec![
            "create full clone of drive scsi0 (local-lvm:vm-101-disk-0)".into(),
            format!("transferred 1.3 GiB of 2.0 GiB ({progress:.2}%)"),
        ],
    }
}

/// Address records as the identity engine keeps them for the seed.
pub fn allocations() -> Vec<Allocation> {
    let a = |id: i64,
             node: &str,
             ip: &str,
             kind: GuestKind,
             vmid: u32,
             name: &str,
             mac: &str,
             state: AllocState| Allocation {
        id,
        node: node.into(),
        subnet: format!("{}.0/24", ip.rsplit_once('.').map(|(n, _)| n).unwrap_or("")),
        ip: ip.parse().expect("ip"),
        kind,
        vmid: Some(vmid),
        resource_name: Some(name.into()),
        mac: Some(mac.parse().expect("mac")),
        hostname: Some(name.into()),
        state,
        allocated_at: 1_795_600_000,
        released_at: None,
        allocated_by: "alice".into(),
        action_id: None,
    };
    vec![
        a(
            1,
            "node-01",
            "192.168.1.101",
            GuestKind::Qemu,
            101,
            "pve-db-01",
            "02:00:00:a1:65:01",
            AllocState::Active,
        ),
        a(
            2,
            "node-01",
            "192.168.1.102",
            GuestKind::Qemu,
            102,
            "pve-av-01",
            "02:00:00:a1:66:01",
            AllocState::Observed,
        ),
        a(
            3,
            "node-01",
            "192.168.1.200",
            GuestKind::Lxc,
            103,
            "pve-test-01",
            "02:00:00:a1:c8:01",
            AllocState::Active,
        ),
        a(
            4,
            "node-01",
            "192.168.1.103",
            GuestKind::Qemu,
            106,
            "pve-cache-01",
            "02:00:00:a1:67:01",
            AllocState::Reserved,
        ),
    ]
}

/// Seed state with actions and address records added.
pub fn busy_state(w: u16, h: u16) -> State {
    let mut s = seed_state(w, h);
    let at = s.now;
    let running = replication(
        &s,
        "repl-101-20261125-221500-a1b2",
        ActionState::Running,
        62.5,
    );
    let mut pending = replication_av(
        &s,
        "repl-102-20261125-222000-c3d4",
        ActionState::PendingApproval,
    );
    pending.record.reason = Some("antivirus scanner on every node".into());
    let done = replication(
        &s,
        "repl-105-20261125-200000-e5f6",
        ActionState::Succeeded,
        100.0,
    );
    update(&mut s, Msg::Actions(Ok(vec![running, pending, done]), at));
    let ip = proxdeck::tui::world::IpData {
        allocations: allocations(),
        conflicts: vec![],
    };
    s.world.ip.set(std::sync::Arc::new(ip), at);
    s.world.host_access = true;
    s.world.snapshots.data.lvm = vec![
        proxdeck::tui::world::LvmSnapshot {
            node: "pve-node-01".into(),
            volume: "pve/root".into(),
            name: "pre-upgrade-2026-11-20".into(),
            size_bytes: Some(16 << 30),
            usage_percent: Some(23.4),
            created_at: Some(at - 5 * 86_400),
            expires_at: Some(at + 25 * 86_400),
            state: "present".into(),
            description: Some("before the kernel upgrade".into()),
        },
        proxdeck::tui::world::LvmSnapshot {
            node: "pve-node-02".into(),
            volume: "pve/root".into(),
            name: "upgrade-2026-11-24".into(),
            size_bytes: Some(16 << 30),
            usage_percent: Some(87.0),
            created_at: Some(at - 86_400),
            expires_at: None,
            state: "merge_pending".into(),
            description: Some("a failed upgrade: merge pending".into()),
        },
    ];
    s.rebuild_all();
    s
}

pub fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ch(s: &mut State, c: char) -> Vec<Effect> {
    press(s, KeyCode::Char(c))
}

pub fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(ch(s, c));
    }
    fx
}

/// Draw the state into a buffer.
pub fn draw(s: &State) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(s.size.0, s.size.1)).expect("terminal");
    term.draw(|f| proxdeck::tui::view::render(f, s))
        .expect("draw");
    term.backend().buffer().clone()
}

/// The screen as text, one line per row (trailing spaces kept off).
pub fn screen(s: &State) -> String {
    let b = draw(s);
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Where `text` starts on screen (x, y).
pub fn find(b: &Buffer, text: &str) -> Option<(u16, u16)> {
    for y in 0..b.area.height {
        let mut line = String::new();
        let mut xs = Vec::new();
        for x in 0..b.area.width {
            let sym = b[(x, y)].symbol();
            for _ in sym.chars() {
                xs.push(x);
            }
            line.push_str(sym);
        }
        if let Some(i) = line.find(text) {
            let idx = line[..i].chars().count();
            return Some((xs[idx], y));
        }
    }
    None
}

/// The status line's text, empty when there is none.
pub fn status_text(s: &State) -> String {
    s.status
        .as_ref()
        .map(|x| x.text.clone())
        .unwrap_or_default()
}
