//! How long the console takes per key and per frame with 10,000 guests
//! (rows rebuilt, then only the visible ones drawn): `cargo bench --bench tui_render`.
//! Writes target/bench-results/tui_render.json.

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proxdeck::config::Config;
use proxdeck::inventory::Inventory;
use proxdeck::tui::keymap::Keymap;
use proxdeck::tui::msg::{InventoryRead, Msg};
use proxdeck::tui::recording::Recording;
use proxdeck::tui::state::State;
use proxdeck::tui::theme::Theme;
use proxdeck::tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rec = Recording::parse(
        &std::fs::read_to_string(root.join("tests/data/tui/seed-world.json")).expect("fixture"),
    )
    .expect("recording");
    let config = Config::load(&root.join("config")).expect("config");
    let mut s = State::new(
        Arc::new(config),
        rec.world("bench", "bench"),
        Keymap::default(),
        Theme::built_in("default").expect("theme"),
        rec.captured_unix,
    );
    s.size = (200, 50);
    let mut results = Vec::new();
    for n in [30u32, 1_000, 10_000] {
        let mut inv: Inventory = (*s.world.inventory.data).clone();
        let template = inv.guests[1].clone();
        inv.guests = (0..n)
            .map(|i| {
                let mut g = template.clone();
                g.vmid = 1000 + i;
                g.name = format!("pve-app-{i:05}");
                g.node = format!("pve-node-0{}", 1 + i % 3);
                g
            })
            .collect();
        let read = InventoryRead {
            inventory: Arc::new(inv),
            meta: Default::default(),
            ip: Default::default(),
            stats: Default::default(),
        };
        let t = Instant::now();
        let at = s.now;
        update(&mut s, Msg::Inventory(Ok(read), at));
        let refresh_ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
        let keys = 200;
        let t = Instant::now();
        for i in 0..keys {
            let code = if i % 50 == 49 {
                KeyCode::PageDown
            } else {
                KeyCode::Down
            };
            update(&mut s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
            term.draw(|f| proxdeck::tui::view::render(f, &s))
                .expect("draw");
        }
        let per_key_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(keys);
        let t = Instant::now();
        let frames = 200;
        for _ in 0..frames {
            term.draw(|f| proxdeck::tui::view::render(f, &s))
                .expect("draw");
        }
        let per_frame_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
        results.push(serde_json::json!({"guests": n, "inventory_refresh_ms": refresh_ms, "key_and_frame_ms": per_key_ms, "frame_ms": per_frame_ms}));
    }
    let out = serde_json::json!({"bench": "tui_render", "screen": "200x50", "results": results,
        "note": "a key is update() plus one frame; a refresh rebuilds every pane's rows"});
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    let dir = root.join("target/bench-results");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("tui_render.json"), out.to_string()).expect("write");
}
