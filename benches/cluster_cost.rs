//! What the console costs the cluster and the machine, measured on the real
//! binary: `cargo bench --bench cluster_cost` (or `scripts/bench.sh`).
//!
//! For each cluster size (`PROXDECK_BENCH_SIZES`, default `3x30,20x10000`:
//! nodes x guests) it starts the simulator in this process, opens
//! `proxdeck console` on it in a 200x50 tmux pane and records: time from
//! launch to the first frame, to the first frame with guests and to every
//! config read; RSS then; requests per minute and CPU while idle with the
//! default 5 s refresh (`PROXDECK_BENCH_IDLE_SECS`, default 60); RSS every
//! minute of an optional soak (`PROXDECK_BENCH_SOAK_SECS`, default 0); and
//! the latency of `proxdeck ip next` (cold database and warm). Figures go
//! to target/bench-results/cluster_cost.json. Timings are the figures
//! here, never assertions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use proxdeck::sim::scenario::Scenario;
use proxdeck::sim::{self, SimHandle, SimOptions};
use serde_json::{Value, json};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `/proc/PID/status` VmRSS in MiB.
fn rss_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) the process used so far.
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after ')'.
    let hz = 100.0;
    (ticks(11) + ticks(12)) / hz
}

/// Poll the pane until `pred` holds on its text; the time it took.
fn wait_screen(
    session: &str,
    since: Instant,
    limit: Duration,
    pred: impl Fn(&str) -> bool,
) -> Option<f64> {
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if pred(&screen) {
            return Some(since.elapsed().as_secs_f64() * 1000.0);
        }
        if since.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn ip_next_ms(bin: &Path, dir: &Path, db: &Path, node: &str) -> f64 {
    let t = Instant::now();
    let out = Command::new(bin)
        .args(["ip", "next", "--node", node, "--type", "lxc", "--config"])
        .arg(dir)
        .arg("--db")
        .arg(db)
        .env("XDG_STATE_HOME", dir)
        .output()
        .expect("proxdeck runs");
    assert!(
        out.status.success(),
        "ip next: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn measure(rt: &tokio::runtime::Runtime, bin: &Path, nodes: u32, guests: u32) -> Value {
    let handle: SimHandle = rt
        .block_on(sim::start(SimOptions::new(Scenario::generated(
            nodes, guests, 1,
        ))))
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!("proxdeck-bench-{}-{guests}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    handle.write_config(&dir).expect("config");
    let db = dir.join("console.db");
    // Any guest row: its type column.
    let guest_row = |s: &str| s.contains(" lxc ") || s.contains(" qemu ");
    let session = format!("pdbench{}", std::process::id());
    let _ = tmux(&["kill-session", "-t", &session]);
    let cmd = format!(
        "XDG_STATE_HOME={d} exec {bin} console --config {d} --db {db}",
        d = dir.display(),
        bin = bin.display(),
        db = db.display()
    );
    let requests_before = handle.request_count();
    let launched = Instant::now();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &cmd,
    ]);
    let limit = Duration::from_secs(120);
    let first_frame = wait_screen(&session, launched, limit, |s| s.contains("generated-"));
    let guests_shown = wait_screen(&session, launched, limit, guest_row);
    let configs_read = wait_screen(&session, launched, Duration::from_secs(600), |s| {
        guest_row(s) && !s.contains("configs loading")
    });
    let cold_requests = handle.request_count() - requests_before;
    let pid: u32 = tmux(&["list-panes", "-t", &session, "-F", "#{pane_pid}"])
        .trim()
        .parse()
        .expect("pane pid");
    let rss_loaded = rss_mib(pid);
    // Let the first rounds after loading pass, then watch it idle.
    std::thread::sleep(Duration::from_secs(6));
    let idle = Duration::from_secs(env_u64("PROXDECK_BENCH_IDLE_SECS", 60));
    let (r0, c0, t0) = (handle.request_count(), cpu_secs(pid), Instant::now());
    std::thread::sleep(idle);
    let (r1, c1) = (handle.request_count(), cpu_secs(pid));
    let secs = t0.elapsed().as_secs_f64();
    let per_minute = (r1 - r0) as f64 * 60.0 / secs;
    let cpu_percent = (c1 - c0) * 100.0 / secs;
    let mut soak = vec![json!({"minute": 0, "rss_mib": rss_mib(pid)})];
    let soak_secs = env_u64("PROXDECK_BENCH_SOAK_SECS", 0);
    for minute in 1..=soak_secs / 60 {
        std::thread::sleep(Duration::from_secs(60));
        soak.push(json!({"minute": minute, "rss_mib": rss_mib(pid)}));
    }
    let rss_end = rss_mib(pid);
    tmux(&["send-keys", "-t", &session, "q", ""]);
    std::thread::sleep(Duration::from_millis(300));
    let _ = tmux(&["kill-session", "-t", &session]);
    // `ip next` on a database that knows nothing, then on the console's.
    let node = "pve-node-02";
    let cold_db = dir.join("cold.db");
    let ip_cold = ip_next_ms(bin, &dir, &cold_db, node);
    let ip_warm = median((0..5).map(|_| ip_next_ms(bin, &dir, &db, node)).collect());
    let before = handle.request_count();
    ip_next_ms(bin, &dir, &db, node);
    let ip_requests = handle.request_count() - before;
    let _ = std::fs::remove_dir_all(&dir);
    json!({
        "nodes": nodes,
        "guests": guests,
        "first_frame_ms": first_frame,
        "guests_on_screen_ms": guests_shown,
        "all_configs_read_ms": configs_read,
        "cold_start_requests": cold_requests,
        "rss_mib_loaded": rss_loaded,
        "idle_seconds": secs,
        "idle_requests_per_minute": per_minute,
        "idle_cpu_percent": cpu_percent,
        "rss_mib_soak": soak,
        "rss_mib_end": rss_end,
        "ip_next_ms_cold_db": ip_cold,
        "ip_next_ms_warm_db": ip_warm,
        "ip_next_requests_warm_db": ip_requests,
    })
}

fn main() {
    // Only under `cargo bench` (test runners listing targets pass no --bench).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_proxdeck"));
    let sizes = std::env::var("PROXDECK_BENCH_SIZES").unwrap_or_else(|_| "3x30,20x10000".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut results = Vec::new();
    for size in sizes.split(',') {
        let Some((n, g)) = size.split_once('x') else {
            continue;
        };
        let (n, g) = (n.parse().expect("nodes"), g.parse().expect("guests"));
        let r = measure(&rt, &bin, n, g);
        println!("{}", serde_json::to_string_pretty(&r).expect("json"));
        results.push(r);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    let doc = json!({"bench": "cluster_cost", "refresh_secs": 5, "results": results});
    std::fs::write(out.join("cluster_cost.json"), doc.to_string()).expect("write results");
}
