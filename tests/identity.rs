//! The identity engine on live clusters (fakepve and the simulator): the
//! design's worked examples, `ip next`, exhausted ranges, and reconciliation
//! with planted conflicts.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;

use common::target::Target;
use proxdeck::config::Config;
use proxdeck::inventory::{Inventory, RefreshOptions};
use proxdeck::ipam::alloc::Ipam;
use proxdeck::ipam::reconcile::Conflict;
use proxdeck::ipam::{AllocState, IpamError, LiveAddresses, ReserveRequest};
use proxdeck::naming::Convention;
use proxdeck::naming::reserve::{NameRequest, reserve_name};
use proxdeck::pve::requests::ConfigChange;
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::store::Store;

fn repo_config() -> Config {
    Config::load(&common::repo().join("config")).unwrap()
}

async fn inventory(t: &Target) -> Inventory {
    Inventory::refresh(&t.client(), None, &RefreshOptions::default())
        .await
        .unwrap()
        .0
}

/// Replicating pve-db-01 (node-01, 192.168.1.101) to node-02 and node-03.
async fn replication_identities(t: Target) {
    let cfg = repo_config();
    let conv = Convention::new(&cfg.naming);
    let ipam = Ipam::new("lab", &cfg.naming);
    let inv = inventory(&t).await;
    let live = LiveAddresses::from_inventory(&inv);
    let names: Vec<String> = inv.guests.iter().map(|g| g.name.clone()).collect();
    let store = Store::open_in_memory().unwrap();
    let origin: Ipv4Addr = "192.168.1.101".parse().unwrap();
    let got = store
        .write(|tx| {
            let mut out = Vec::new();
            for node in ["pve-node-02", "pve-node-03"] {
                let n = reserve_name(
                    tx,
                    "lab",
                    &conv,
                    &NameRequest {
                        node,
                        role: "db",
                        action_id: Some("repl-101"),
                        by: "test",
                    },
                    &names,
                )
                .unwrap();
                let mut req = ReserveRequest::new(node, GuestKind::Qemu, "test");
                req.name = Some(&n.name);
                req.hostname = Some(&n.hostname);
                req.prefer = Some((origin, "192.168.1.0/24".parse().unwrap()));
                req.action_id = Some("repl-101");
                let a = ipam.reserve(tx, &req, &live)?;
                out.push((
                    n.name,
                    a.ip.to_string(),
                    a.mac.unwrap().to_string(),
                    n.hostname,
                    a.state,
                ));
            }
            Ok::<_, IpamError>(out)
        })
        .unwrap();
    assert_eq!(
        got,
        vec![
            (
                "pve-db-02".into(),
                "192.168.2.101".into(),
                "02:00:00:a2:65:01".into(),
                "pve-db-02".into(),
                AllocState::Reserved
            ),
            (
                "pve-db-03".into(),
                "192.168.3.101".into(),
                "02:00:00:a3:65:01".into(),
                "pve-db-03".into(),
                AllocState::Reserved
            ),
        ]
    );
    // A re-run of the same workflow gets the same identities back.
    let again = store
        .write(|tx| {
            let n = reserve_name(
                tx,
                "lab",
                &conv,
                &NameRequest {
                    node: "pve-node-02",
                    role: "db",
                    action_id: Some("repl-101"),
                    by: "test",
                },
                &names,
            )
            .unwrap();
            let mut req = ReserveRequest::new("pve-node-02", GuestKind::Qemu, "test");
            req.action_id = Some("repl-101");
            Ok::<_, IpamError>((n.name, ipam.reserve(tx, &req, &live)?.ip))
        })
        .unwrap();
    assert_eq!(
        again,
        ("pve-db-02".into(), "192.168.2.101".parse().unwrap())
    );
    // Another plan for a db guest meanwhile gets the next number and address.
    let other = store
        .write(|tx| {
            let n = reserve_name(
                tx,
                "lab",
                &conv,
                &NameRequest {
                    node: "pve-node-02",
                    role: "db",
                    action_id: Some("other"),
                    by: "test",
                },
                &names,
            )
            .unwrap();
            let mut req = ReserveRequest::new("pve-node-02", GuestKind::Qemu, "test");
            req.prefer = Some((origin, "192.168.1.0/24".parse().unwrap()));
            req.action_id = Some("other");
            Ok::<_, IpamError>((n.name, ipam.reserve(tx, &req, &live)?.ip))
        })
        .unwrap();
    assert_eq!(
        other,
        ("pve-db-04".into(), "192.168.2.100".parse().unwrap())
    );
}

/// `proxdeck ip next --node node-02 --type lxc` with pve-web-01 at 192.168.2.200.
async fn ip_next_cli(t: Target) {
    let dir = common::config_dir_for(&t.url, &t.fingerprint);
    let db = dir.path().join("p.db");
    let out = Command::new(common::proxdeck_bin())
        .arg("--config")
        .arg(dir.path())
        .arg("--db")
        .arg(&db)
        .args(["ip", "next", "--node", "node-02", "--type", "lxc"])
        .env("PROXDECK_TEST_TOKEN", common::fakepve::TOKEN_SECRET)
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ip": "192.168.2.201", "gateway": "192.168.2.1"})
    );
    // The same for a VM on node-03, by its Proxmox name.
    let out = Command::new(common::proxdeck_bin())
        .arg("--config")
        .arg(dir.path())
        .arg("--db")
        .arg(&db)
        .args(["ip", "next", "--node", "pve-node-03", "--type", "qemu"])
        .env("PROXDECK_TEST_TOKEN", common::fakepve::TOKEN_SECRET)
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ip"], "192.168.3.100");
}

/// Reconcile finds every planted conflict.
async fn reconcile_finds_planted_conflicts(t: Target) {
    let c = t.client();
    // Duplicate IP and MAC: pve-test-01 takes pve-db-01's address and pve-av-01's MAC.
    c.set_config(
        &GuestRef::new("pve-node-01", GuestKind::Lxc, 103),
        &ConfigChange::default().set("net0", "name=eth0,bridge=vmbr0,gw=192.168.1.1,hwaddr=02:00:00:A1:66:01,ip=192.168.1.101/24,type=veth"),
    )
    .await
    .unwrap();
    // Outside the subnet: pve-av-01 gets an address from another network (stopped
    // first, so the change is not left pending on the running VM).
    let up = c
        .power(
            &GuestRef::new("pve-node-01", GuestKind::Qemu, 102),
            proxdeck::pve::requests::Power::Stop,
        )
        .await
        .unwrap();
    c.wait_task(&up, &Default::default(), |_| {}).await.unwrap();
    c.set_config(
        &GuestRef::new("pve-node-01", GuestKind::Qemu, 102),
        &ConfigChange::default().set("ipconfig0", "ip=10.99.0.5/24,gw=10.99.0.1"),
    )
    .await
    .unwrap();
    // node-02 has no subnet in this configuration: pve-web-01's address cannot be placed.
    let mut cfg = repo_config();
    cfg.naming.subnets.remove("node-02");
    let ipam = Ipam::new("lab", &cfg.naming);
    let store = Store::open_in_memory().unwrap();
    // A stale record: the database says pve-db-01 has .150, which it does not.
    store
        .write(|tx| {
            ipam.assign(
                tx,
                101,
                "node-01",
                GuestKind::Qemu,
                "192.168.1.150".parse().unwrap(),
                None,
                Some("pve-db-01"),
                None,
                "test",
                &LiveAddresses::default(),
            )
        })
        .unwrap();
    let inv = inventory(&t).await;
    let report = store.write(|tx| ipam.reconcile(tx, &inv)).unwrap();
    let c = &report.conflicts;
    let has = |f: &dyn Fn(&Conflict) -> bool| c.iter().any(f);
    assert!(
        has(
            &|x| matches!(x, Conflict::DuplicateIp { ip, guests } if ip.to_string() == "192.168.1.101" && guests.len() == 2)
        ),
        "{c:#?}"
    );
    assert!(
        has(
            &|x| matches!(x, Conflict::DuplicateMac { mac, .. } if mac.to_string() == "02:00:00:a1:66:01")
        ),
        "{c:#?}"
    );
    assert!(
        has(&|x| matches!(x, Conflict::OutsideSubnet { ip, .. } if ip.to_string() == "10.99.0.5")),
        "{c:#?}"
    );
    assert!(
        has(&|x| matches!(x, Conflict::NoSubnet { guest, .. } if guest.starts_with("pve-web-01"))),
        "{c:#?}"
    );
    assert!(
        has(
            &|x| matches!(x, Conflict::StaleRecord { ip, reason, .. } if ip.to_string() == "192.168.1.150" && reason.contains("no longer has"))
        ),
        "{c:#?}"
    );
    assert_eq!(c.len(), 5, "{c:#?}");
    // The live addresses the database did not know are now observed.
    let observed: Vec<String> = report.imported.iter().map(|a| a.ip.to_string()).collect();
    assert!(
        observed.contains(&"192.168.1.101".to_string()),
        "{observed:?}"
    );
    // Conflicts read as sentences.
    assert!(
        c.iter()
            .any(|x| x.to_string().contains("is configured on 2 guests"))
    );
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod fakepve {
            $(#[tokio::test] async fn $case() { super::$case(super::Target::fakepve()).await })*
        }
        mod sim {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { super::$case(super::Target::sim().await).await })*
        }
    };
}

both!(
    replication_identities,
    ip_next_cli,
    reconcile_finds_planted_conflicts
);

#[test]
fn a_full_range_is_a_clear_error() {
    let cfg = repo_config();
    let ipam = Ipam::new("lab", &cfg.naming);
    let store = Store::open_in_memory().unwrap();
    let live = LiveAddresses::default();
    // node-03's LXC range .200-.254 holds 55 addresses.
    for i in 0..55 {
        store
            .write(|tx| {
                let mut req = ReserveRequest::new("node-03", GuestKind::Lxc, "test");
                req.vmid = Some(1000 + i);
                ipam.reserve(tx, &req, &live)
            })
            .unwrap();
    }
    let err = store
        .write(|tx| {
            ipam.reserve(
                tx,
                &ReserveRequest::new("node-03", GuestKind::Lxc, "test"),
                &live,
            )
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "range exhausted: no free LXC address on node-03 in 192.168.3.200-192.168.3.254"
    );
    // VMs still have room.
    assert!(
        store
            .read(|c| ipam.next_ip(c, "node-03", GuestKind::Qemu, &live))
            .is_ok()
    );
}

#[test]
fn assignments_are_checked_and_name_the_holder() {
    let cfg = repo_config();
    let ipam = Ipam::new("lab", &cfg.naming);
    let store = Store::open_in_memory().unwrap();
    let live = LiveAddresses::default();
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let assign = |vmid: u32, node: &str, kind: GuestKind, addr: &str| {
        store.write(|tx| {
            ipam.assign(
                tx,
                vmid,
                node,
                kind,
                ip(addr),
                None,
                Some("pve-web-02"),
                Some("pve-web-02"),
                "test",
                &live,
            )
        })
    };
    let a = assign(204, "node-02", GuestKind::Lxc, "192.168.2.201").unwrap();
    assert_eq!(a.mac.unwrap().to_string(), "02:00:00:a2:c9:01");
    let e = assign(205, "node-02", GuestKind::Lxc, "192.168.2.201").unwrap_err();
    assert_eq!(
        e.to_string(),
        "192.168.2.201 is taken by pve-web-02 (vmid 204), assigned"
    );
    assert_eq!(
        assign(205, "node-02", GuestKind::Lxc, "192.168.3.201")
            .unwrap_err()
            .to_string(),
        "192.168.3.201 is outside node-02's subnet 192.168.2.0/24"
    );
    assert_eq!(
        assign(205, "node-02", GuestKind::Lxc, "192.168.2.150")
            .unwrap_err()
            .to_string(),
        "192.168.2.150 is outside node-02's LXC range 192.168.2.200-192.168.2.254"
    );
    assert_eq!(
        assign(205, "node-02", GuestKind::Qemu, "192.168.2.1")
            .unwrap_err()
            .to_string(),
        "192.168.2.1 is the gateway of node-02"
    );
    // The same guest moving to another address keeps its MAC and frees the old one.
    let moved = assign(204, "node-02", GuestKind::Lxc, "192.168.2.210").unwrap();
    assert_eq!(moved.mac, a.mac);
    assert!(assign(206, "node-02", GuestKind::Lxc, "192.168.2.201").is_ok());
}

#[test]
fn metadata_records_replicas_and_compliance() {
    use proxdeck::metadata;
    let store = Store::open_in_memory().unwrap();
    store
        .write(|tx| {
            tx.execute_batch(
                "INSERT INTO resource_metadata (cluster, vmid, name, guest_type, node, origin_node, is_template, first_seen, last_seen)
                 VALUES ('lab', 101, 'pve-db-01', 'qemu', 'pve-node-01', 'pve-node-01', 1, 1, 1);",
            )?;
            metadata::record_replica(tx, "lab", 101, 201, GuestKind::Qemu, "pve-node-02")?;
            metadata::record_replica(tx, "lab", 101, 301, GuestKind::Qemu, "pve-node-03")?;
            Ok::<_, proxdeck::store::StoreError>(())
        })
        .unwrap();
    let src = store
        .read(|c| metadata::get(c, "lab", 101))
        .unwrap()
        .unwrap();
    assert_eq!(src.replicated_nodes, vec!["pve-node-02", "pve-node-03"]);
    assert!(src.is_template && !src.is_replica);
    let rep = store
        .read(|c| metadata::get(c, "lab", 201))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            rep.origin_node.as_deref(),
            rep.origin_template_id,
            rep.is_replica
        ),
        (Some("pve-node-01"), Some(101), true)
    );
}
