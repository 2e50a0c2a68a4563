//! Four OS processes allocating 1,000 addresses each from one database file end
//! with 4,000 distinct addresses and no error.

use std::process::{Command, Stdio};

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

fn config(dir: &std::path::Path) -> Config {
    std::fs::write(dir.join("naming-conventions.yml"), NAMING).unwrap();
    std::fs::write(dir.join("action-policies.yml"), "approval_required: []\n").unwrap();
    Config::load(dir).unwrap()
}

const PER_PROCESS: u32 = 1000;

/// Runs only as a child of the test below.
#[test]
fn child_allocator() {
    let (Ok(db), Ok(cfg_dir), Ok(who)) = (
        std::env::var("PROXDECK_TEST_DB"),
        std::env::var("PROXDECK_TEST_CFG"),
        std::env::var("PROXDECK_TEST_WHO"),
    ) else {
        return;
    };
    let cfg = Config::load(std::path::Path::new(&cfg_dir)).unwrap();
    let ipam = Ipam::new("lab", &cfg.naming);
    let store = Store::open(std::path::Path::new(&db)).unwrap();
    let live = LiveAddresses::default();
    for _ in 0..PER_PROCESS {
        store
            .write(|tx| {
                ipam.reserve(
                    tx,
                    &ReserveRequest::new("node-01", GuestKind::Qemu, &who),
                    &live,
                )
            })
            .unwrap();
    }
}

#[test]
fn four_processes_allocate_4000_distinct_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let db = dir.path().join("p.db");
    Store::open(&db).unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_allocator", "--nocapture"])
                .env("PROXDECK_TEST_DB", &db)
                .env("PROXDECK_TEST_CFG", dir.path())
                .env("PROXDECK_TEST_WHO", format!("p{i}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child did not run: {text}");
    }
    let store = Store::open(&db).unwrap();
    let ipam = Ipam::new("lab", &cfg.naming);
    let all = store.read(|c| ipam.list(c, None, false)).unwrap();
    assert_eq!(all.len(), 4000);
    let distinct: std::collections::HashSet<_> = all.iter().map(|a| a.ip).collect();
    assert_eq!(distinct.len(), 4000);
    let macs: std::collections::HashSet<_> = all.iter().map(|a| a.mac).collect();
    assert_eq!(macs.len(), 4000);
    for who in ["p0", "p1", "p2", "p3"] {
        assert_eq!(
            all.iter().filter(|a| a.allocated_by == who).count(),
            PER_PROCESS as usize
        );
    }
}
