//! Allocations per second on one process: `cargo bench --bench ipam_alloc`.
//! Reserves N addresses (each in its own BEGIN IMMEDIATE transaction, with a
//! MAC) from a file database, and writes the figures to
//! target/bench-results/ipam_alloc.json.

use std::time::Instant;

use proxdeck::config::Config;
use proxdeck::ipam::alloc::Ipam;
use proxdeck::ipam::{LiveAddresses, ReserveRequest};
use proxdeck::pve::GuestKind;
use proxdeck::store::Store;

const NAMING: &str = r#"
nodes:
  - name: node-01
ip_ranges:
  node-01:
    subnet: "10.8.0.0/16"
    gateway: "10.8.0.1"
    vm_range_start: "10.8.0.10"
    vm_range_end: "10.8.127.255"
    lxc_range_start: "10.8.128.0"
"#;

fn main() {
    // `cargo bench` passes --bench; test runners that list or run every target
    // (cargo test --all-targets, nextest) do not, and get nothing to run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("PROXDECK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = std::env::temp_dir().join(format!("proxdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("naming-conventions.yml"), NAMING).expect("write naming");
    std::fs::write(dir.join("action-policies.yml"), "approval_required: []\n")
        .expect("write policies");
    let cfg = Config::load(&dir).expect("config");
    let store = Store::open(&dir.join("bench.db")).expect("db");
    let ipam = Ipam::new("bench", &cfg.naming);
    let live = LiveAddresses::default();
    let started = Instant::now();
    let mut marks = Vec::new();
    for i in 0..n {
        store
            .write(|tx| {
                ipam.reserve(
                    tx,
                    &ReserveRequest::new("node-01", GuestKind::Qemu, "bench"),
                    &live,
                )
            })
            .expect("reserve");
        if (i + 1) % 1000 == 0 {
            marks.push((i + 1, started.elapsed().as_secs_f64()));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    // The rate while the table fills: each allocation scans the subnet's taken set.
    let windows: Vec<serde_json::Value> = marks
        .windows(2)
        .map(|w| serde_json::json!({"from": w[0].0, "to": w[1].0, "per_second": (w[1].0 - w[0].0) as f64 / (w[1].1 - w[0].1)}))
        .collect();
    let result = serde_json::json!({
        "bench": "ipam_alloc", "allocations": n, "seconds": secs, "per_second": rate,
        "windows": windows, "note": "one process, file database (WAL), one BEGIN IMMEDIATE transaction per allocation",
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    std::fs::write(out.join("ipam_alloc.json"), result.to_string()).expect("write results");
    let _ = std::fs::remove_dir_all(&dir);
}
