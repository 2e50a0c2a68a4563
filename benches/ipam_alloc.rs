//! Allocations per second: `cargo bench --bench ipam_alloc`. Reserves N
//! addresses (each in its own BEGIN IMMEDIATE transaction, with a MAC) from a
//! file database in one process, then N more split over four processes on
//! one database (copies of this program), checks that no address was handed
//! out twice, and writes the figures to target/bench-results/ipam_alloc.json.

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
    if let Ok(dir) = std::env::var("PROXDECK_BENCH_WORKER") {
        let n: usize = std::env::var("PROXDECK_BENCH_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        reserve_many(std::path::Path::new(&dir), n);
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
    let started = Instant::now();
    let marks = reserve_many(&dir, n);
    let secs = started.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    // The rate while the table fills (it stays flat: the held set is kept).
    let windows: Vec<serde_json::Value> = marks
        .windows(2)
        .map(|w| serde_json::json!({"from": w[0].0, "to": w[1].0, "per_second": (w[1].0 - w[0].0) as f64 / (w[1].1 - w[0].1)}))
        .collect();
    // Four processes on one (fresh) database.
    for f in ["bench.db", "bench.db-wal", "bench.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let per_worker = n / 4;
    let started = Instant::now();
    let workers: Vec<std::process::Child> = (0..4)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().expect("own path"))
                .arg("--bench")
                .env("PROXDECK_BENCH_WORKER", &dir)
                .env("PROXDECK_BENCH_N", per_worker.to_string())
                .spawn()
                .expect("worker starts")
        })
        .collect();
    for mut w in workers {
        assert!(w.wait().expect("worker ends").success(), "a worker failed");
    }
    let four_secs = started.elapsed().as_secs_f64();
    let store = Store::open(&dir.join("bench.db")).expect("db");
    let (rows, distinct): (i64, i64) = store
        .read(|c| {
            Ok::<_, proxdeck::store::StoreError>(c.query_row(
                "SELECT count(*), count(DISTINCT ip) FROM ip_allocations WHERE state = 'reserved'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("count");
    assert_eq!(rows, distinct, "an address was handed out twice");
    let result = serde_json::json!({
        "bench": "ipam_alloc", "allocations": n, "seconds": secs, "per_second": rate,
        "windows": windows, "note": "one process, file database (WAL), one BEGIN IMMEDIATE transaction per allocation",
        "four_processes": {"allocations": rows, "distinct": distinct, "seconds": four_secs,
            "per_second": rows as f64 / four_secs},
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    std::fs::write(out.join("ipam_alloc.json"), result.to_string()).expect("write results");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reserve `n` addresses one transaction each on the database in `dir`;
/// (count, seconds) every 1000.
fn reserve_many(dir: &std::path::Path, n: usize) -> Vec<(usize, f64)> {
    let cfg = Config::load(dir).expect("config");
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
    marks
}
