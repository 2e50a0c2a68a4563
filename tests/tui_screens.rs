//! Every pane, dialog and form drawn from the recorded seed cluster at 80×24
//! and 160×48 (insta snapshots), colours checked per theme, and random sizes
//! and keys never panic.

mod common;

use common::tui::{busy_state, ch, draw, find, press, screen, seed_state, typed};
use crossterm::event::KeyCode;
use proptest::prelude::*;
use proxdeck::engine::ActionState;
use proxdeck::tui::msg::Msg;
use proxdeck::tui::panes::PaneId;
use proxdeck::tui::state::{Dialog, LogSource, LogView, State};
use proxdeck::tui::theme::{Role, Theme};
use proxdeck::tui::update::update;
use ratatui::style::Color;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap(name: &str, s: &State) {
    insta::assert_snapshot!(format!("{name}_{}x{}", s.size.0, s.size.1), screen(s));
}

fn each_size(name: &str, setup: impl Fn(&mut State)) {
    for (w, h) in SIZES {
        let mut s = busy_state(w, h);
        setup(&mut s);
        snap(name, &s);
    }
}

fn select(s: &mut State, key: &str) {
    let pane = s.pane;
    let t = s.table(pane).clone();
    assert!(s.lists.entry(pane).or_default().select(&t, key), "{key}");
}

#[test]
fn pane_resources() {
    each_size("resources", |s| select(s, "guest:101"));
}

#[test]
fn pane_resources_filtered() {
    each_size("resources_filtered", |s| {
        ch(s, '/');
        typed(s, "db");
        press(s, KeyCode::Enter);
    });
}

#[test]
fn pane_snapshots() {
    each_size("snapshots", |s| {
        ch(s, '2');
        select(s, "snap:102:pre-upgrade");
    });
}

#[test]
fn pane_backups() {
    each_size("backups", |s| {
        ch(s, '3');
        let first = s
            .table(PaneId::Backups)
            .rows
            .iter()
            .find(|r| r.cells[0].text.contains("pve-web-01"))
            .map(|r| r.key.clone());
        if let Some(k) = first {
            select(s, &k);
        }
    });
}

#[test]
fn pane_ip_map() {
    each_size("ipmap", |s| {
        ch(s, '4');
        select(s, "192.168.1.101");
    });
}

#[test]
fn pane_replication() {
    each_size("replication", |s| {
        ch(s, '5');
        let id = s.world.actions.data[0].record.id.clone();
        select(s, &id);
    });
}

#[test]
fn pane_approvals() {
    each_size("approvals", |s| {
        ch(s, '6');
    });
}

#[test]
fn pane_tasks() {
    each_size("tasks", |s| {
        ch(s, '7');
    });
}

#[test]
fn dialog_confirm_plan() {
    each_size("confirm", |s| {
        let mut rec = s.world.actions.data[0].record.clone();
        rec.state = ActionState::Proposed;
        update(s, Msg::Planned(Ok(rec)));
    });
}

#[test]
fn dialog_approve() {
    each_size("approve", |s| {
        ch(s, '6');
        ch(s, 'a');
        press(s, KeyCode::Tab);
        typed(s, "ok by ops");
    });
}

#[test]
fn form_replicate() {
    each_size("form_replicate", |s| {
        select(s, "guest:101");
        ch(s, 'r');
        press(s, KeyCode::Right);
    });
}

#[test]
fn form_assign_ip_with_an_error() {
    each_size("form_assign_ip", |s| {
        select(s, "guest:102");
        ch(s, 'i');
        for _ in 0..20 {
            press(s, KeyCode::Backspace);
        }
        typed(s, "192.168.1.101");
    });
}

#[test]
fn form_snapshot() {
    each_size("form_snapshot", |s| {
        select(s, "guest:102");
        ch(s, 's');
        typed(s, "before-patch");
        press(s, KeyCode::Tab);
        typed(s, "kernel 6.8 update");
    });
}

#[test]
fn dialog_help() {
    each_size("help", |s| {
        ch(s, '?');
    });
}

#[test]
fn dialog_task_log() {
    each_size("task_log", |s| {
        let rec = common::tui::recording();
        let (upid, lines) = rec
            .task_logs
            .iter()
            .find(|(k, _)| k.contains("vzdump"))
            .expect("vzdump log");
        s.dialogs.push(Dialog::Log(LogView {
            source: LogSource::Task { upid: upid.clone() },
            title: "task vzdump 105 on pve-node-02".into(),
            lines: lines.iter().map(|l| l.t.clone()).collect(),
            follow: true,
            scroll: 0,
            finished: true,
            error: None,
        }));
    });
}

#[test]
fn dialog_error_message() {
    each_size("error_message", |s| {
        update(
            s,
            Msg::Planned(Err("refused by policy (prohibited.delete_primary_templates): pve-db-01 is a template on the primary template node pve-node-01".into())),
        );
    });
}

#[test]
fn command_line_completion() {
    each_size("command_line", |s| {
        ch(s, ':');
        typed(s, "replicate pve-");
        press(s, KeyCode::Tab);
    });
}

#[test]
fn state_unreachable_before_any_read() {
    for (w, h) in SIZES {
        let mut s = seed_state(w, h);
        s.world = proxdeck::tui::world::World {
            cluster: "lab".into(),
            user: "admin".into(),
            refresh_secs: 5,
            ..Default::default()
        };
        let at = s.now;
        update(
            &mut s,
            Msg::Inventory(Err("https://10.0.0.11:8006: connection refused".into()), at),
        );
        update(&mut s, Msg::Snapshots(Err("connection refused".into()), at));
        snap("unreachable", &s);
    }
}

#[test]
fn state_stale_and_read_only() {
    for (w, h) in SIZES {
        let mut s = busy_state(w, h);
        s.read_only = Some("started with --read-only".into());
        let later = s.now + 40;
        update(&mut s, Msg::Tick(later));
        snap("stale_read_only", &s);
    }
}

#[test]
fn state_empty_panes() {
    for (w, h) in SIZES {
        let mut s = seed_state(w, h);
        ch(&mut s, '6');
        snap("approvals_empty", &s);
        ch(&mut s, '5');
        snap("replication_empty", &s);
    }
}

/// The colour of `text` in the list's row (left part of the screen) that shows `row`.
#[test]
fn every_footer_says_how_to_get_help_at_every_width() {
    for width in (24..=220).step_by(7) {
        for pane in PaneId::ALL {
            let mut s = busy_state(width, 24);
            s.pane = pane;
            s.rebuild(pane);
            let text = screen(&s);
            let footer = text.lines().last().unwrap_or_default();
            assert!(
                footer.ends_with("? help"),
                "{pane:?} at {width} columns: {footer:?}"
            );
        }
    }
}

fn colours(s: &State, row: &str, text: &str) -> (Color, Color) {
    let b = draw(s);
    let list_w = b.area.width * 3 / 5;
    let y = (0..b.area.height)
        .find(|y| {
            (0..list_w)
                .map(|x| b[(x, *y)].symbol().to_string())
                .collect::<String>()
                .contains(row)
        })
        .unwrap_or_else(|| panic!("'{row}' not in the list"));
    let line: Vec<(u16, String)> = (0..b.area.width)
        .map(|x| (x, b[(x, y)].symbol().to_string()))
        .collect();
    let joined: String = line.iter().map(|(_, s)| s.as_str()).collect();
    let i = joined
        .find(text)
        .unwrap_or_else(|| panic!("'{text}' not in the row of '{row}'"));
    let x = line[joined[..i].chars().count()].0;
    let c = &b[(x, y)];
    (c.fg, c.bg)
}

#[test]
fn themes_colour_cells_by_meaning() {
    for name in Theme::names() {
        let theme = Theme::built_in(name).expect("theme");
        let mut s = busy_state(160, 48);
        s.theme = theme.clone();
        let ok = theme.style(Role::Ok).fg.expect("ok colour");
        let template = theme.style(Role::Template).fg.expect("template colour");
        // A running guest's status, a template's status.
        assert_eq!(colours(&s, "pve-av-01", "running").0, ok, "{name}: running");
        assert_eq!(
            colours(&s, "pve-db-01", "template").0,
            template,
            "{name}: template"
        );
        // The selected row has the selection background.
        select(&mut s, "guest:105");
        assert_eq!(
            colours(&s, "pve-web-01", "pve-web-01").1,
            theme.style(Role::Selection).bg.expect("selection bg"),
            "{name}"
        );
        // IP map: an active address, and the gateway.
        ch(&mut s, '4');
        let b = draw(&s);
        let grid_row = find(&b, "1.96").expect("grid row of .96-.111");
        let cell = |octet: &str| {
            let line: String = (0..b.area.width)
                .map(|x| b[(x, grid_row.1)].symbol().to_string())
                .collect();
            let i = line.find(&format!(" {octet} ")).expect("octet") + 1;
            b[(i as u16, grid_row.1)].clone()
        };
        assert_eq!(
            cell("101").bg,
            theme.style(Role::Active).bg.expect("active bg"),
            "{name}: active"
        );
        assert_eq!(
            cell("103").bg,
            theme.style(Role::Reserved).bg.expect("reserved bg"),
            "{name}: reserved"
        );
    }
}

#[test]
fn no_color_draws_without_colour_but_keeps_the_selection_visible() {
    let mut s = busy_state(160, 48);
    s.theme = Theme::built_in("default").expect("theme").without_colour();
    let b = draw(&s);
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            let c = &b[(x, y)];
            assert!(
                matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
                "colour at {x},{y}"
            );
        }
    }
    let (x, y) = find(&b, "seed-lab").expect("cluster row");
    let _ = (x, y);
    let sel = s.list(PaneId::Resources).index;
    assert_eq!(sel, 0);
    let row_y = (0..b.area.height)
        .find(|y| {
            (0..b.area.width).any(|x| {
                b[(x, *y)]
                    .modifier
                    .contains(ratatui::style::Modifier::REVERSED)
                    && b[(x, *y)].symbol() == "◉"
            })
        })
        .expect("reversed selection");
    assert!(row_y > 2);
}

#[test]
fn ten_thousand_guests_build_only_visible_rows() {
    let mut s = seed_state(160, 48);
    let mut inv = (*s.world.inventory.data).clone();
    let template = inv.guests[1].clone();
    inv.guests = (0..10_000u32)
        .map(|i| {
            let mut g = template.clone();
            g.vmid = 1000 + i;
            g.name = format!("pve-app-{:05}", i);
            g.node = format!("pve-node-0{}", 1 + i % 3);
            g
        })
        .collect();
    let read = proxdeck::tui::msg::InventoryRead {
        inventory: std::sync::Arc::new(inv),
        meta: Default::default(),
        stats: Default::default(),
        ip: Default::default(),
    };
    let at = s.now;
    update(&mut s, Msg::Inventory(Ok(read), at));
    assert_eq!(s.table(PaneId::Resources).rows.len(), 10_004);
    press(&mut s, KeyCode::End);
    let text = screen(&s);
    // Sorted by name within nodes: node-03's last guest is the last row.
    assert!(
        text.contains("pve-app-09998"),
        "the last row is on screen after End"
    );
    assert!(text.contains("10004/10004"), "the position shows");
}

fn key_strategy() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Enter),
        Just(KeyCode::Esc),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::Left),
        Just(KeyCode::Right),
        Just(KeyCode::PageDown),
        Just(KeyCode::End),
        Just(KeyCode::Backspace),
        "[a-zA-Z0-9/:?~ .-]".prop_map(|s| KeyCode::Char(s.chars().next().unwrap_or('x'))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any size (down to a single cell) and any keys: drawing never panics.
    #[test]
    fn any_size_and_keys_draw_without_panic(
        w in 1u16..200, h in 1u16..70,
        keys in proptest::collection::vec(key_strategy(), 0..40),
        resize in proptest::collection::vec((1u16..200, 1u16..70), 0..3),
    ) {
        let mut s = busy_state(w, h);
        for k in keys {
            if k == KeyCode::Char('q') {
                continue;
            }
            press(&mut s, k);
            let _ = draw(&s);
        }
        for (w2, h2) in resize {
            update(&mut s, Msg::Resize(w2, h2));
            s.size = (w2, h2);
            let _ = draw(&s);
        }
    }
}
