//! Every real response in tests/data/pve-api/fixtures decodes into proxdeck's
//! types, and every property string in them round-trips exactly.

mod common;

use proxdeck::pve::PveError;
use proxdeck::pve::Upid;
use proxdeck::pve::de::int_value;
use proxdeck::pve::propstring::{Disk, IpConfig, LxcNet, PropString, QemuNet, is_disk_key};
use proxdeck::pve::types::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = common::repo()
        .join("tests/data/pve-api/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn data<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(fixture(name)["data"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const COVERED: &[&str] = &[
    "ans_cluster_resources_vm.json",
    "gp_cluster_resources.pve8.json",
    "ans_inv_lxc_config_100.pve6.2.json",
    "ans_inv_qemu_config_101.pve6.2.json",
    "ans_inv_qemu_config_103.pve6.2.json",
    "ans_inv_lxc_status_current_100.pve6.2.json",
    "gp_qemu_status_current.pve8.json",
    "ans_inv_node_network.pve6.2.json",
    "gp_node_network.pve8.json",
    "ans_node_tasks_list.pve6.4.json",
    "ans_nodes_lxc_list.json",
    "ans_nodes_qemu_list.json",
    "ans_storage_content_backup_pbs.json",
    "real_storage_content_backup_notes.iobroker341.json",
    "pvestorage_dir_backup_listing.derived.json",
    "ans_task_log_vzdump.json",
    "ans_task_status_vzdump_stopped_ok.json",
    "ans_vzdump_post_response.json",
    "real_qemu_clone_post_response.pve7.json",
    "gp_access_ticket_post.pve8.json",
    "gp_cluster_nextid.json",
    "gp_cluster_nextid_conflict.http400.json",
    "gp_cluster_status.pve8.json",
];

#[test]
fn every_fixture_file_is_covered() {
    let dir = common::repo().join("tests/data/pve-api/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".json") {
            assert!(COVERED.contains(&name.as_str()), "{name} has no test");
        }
    }
}

#[test]
fn cluster_resources() {
    let all: Vec<ClusterResource> = data("gp_cluster_resources.pve8.json");
    assert!(all.iter().any(|r| r.kind == "node"));
    let tmpl = all.iter().find(|r| r.id == "qemu/101").unwrap();
    assert!(tmpl.template);
    assert_eq!(tmpl.vmid, Some(101));
    let tagged = all.iter().find(|r| r.id == "qemu/102").unwrap();
    assert_eq!(tagged.tags.as_deref(), Some("go-proxmox+cloud-init"));
    let vms: Vec<ClusterResource> = data("ans_cluster_resources_vm.json");
    assert!(!vms.is_empty() && vms.iter().all(|r| r.is_guest()));
    let status: Vec<ClusterStatusItem> = data("gp_cluster_status.pve8.json");
    assert!(status.iter().any(|s| s.kind == "cluster"));
}

/// Every property-string value of a config parses and prints back byte for byte.
fn round_trip_config(cfg: &GuestConfig, kind: GuestKind) -> usize {
    let mut checked = 0;
    for (k, v) in &cfg.values {
        let base = k.trim_end_matches(|c: char| c.is_ascii_digit());
        let text = match base {
            "net" if kind == GuestKind::Qemu => QemuNet::parse(v).unwrap().to_string(),
            "net" => LxcNet::parse(v).unwrap().to_string(),
            "ipconfig" => IpConfig::parse(v).unwrap().to_string(),
            _ if is_disk_key(k) => Disk::parse(v).unwrap().to_string(),
            _ if v.contains('=') => PropString::parse(v).unwrap().to_string(),
            _ => continue,
        };
        assert_eq!(&text, v, "{k} did not round-trip");
        checked += 1;
    }
    checked
}

#[test]
fn guest_configs_and_their_property_strings() {
    let lxc: GuestConfig = data("ans_inv_lxc_config_100.pve6.2.json");
    assert_eq!(lxc.get("hostname"), Some("test-lxc"));
    assert_eq!(
        lxc.get("cpulimit"),
        Some("0"),
        "string-typed numbers stay text"
    );
    assert_eq!(lxc.get("memory"), Some("1000"));
    let net = lxc.lxc_net(0).unwrap();
    assert_eq!(
        net.ip().unwrap().address(),
        Some("10.1.1.3".parse().unwrap())
    );
    assert_eq!(net.gw(), Some("10.1.1.1".parse().unwrap()));
    assert_eq!(lxc.tags(), vec!["one", "two", "three"]);
    assert!(round_trip_config(&lxc, GuestKind::Lxc) >= 2);

    let q101: GuestConfig = data("ans_inv_qemu_config_101.pve6.2.json");
    assert_eq!(q101.qemu_net(0).unwrap().model(), Some("virtio"));
    assert_eq!(q101.qemu_net(0).unwrap().bridge(), Some("vmbr0"));
    assert_eq!(
        q101.disks().len(),
        1,
        "the cloud-init and CD-ROM drives are not disks"
    );
    assert!(round_trip_config(&q101, GuestKind::Qemu) >= 5);

    let q103: GuestConfig = data("ans_inv_qemu_config_103.pve6.2.json");
    assert_eq!(q103.indexed("net").len(), 2);
    assert_eq!(q103.qemu_net(1).unwrap().bridge(), Some("vmbr1"));
    assert_eq!(q103.disks().len(), 3);
    assert!(round_trip_config(&q103, GuestKind::Qemu) >= 6);
}

#[test]
fn guest_lists_and_status() {
    let lxc: Vec<GuestListItem> = data("ans_nodes_lxc_list.json");
    assert!(
        lxc.iter().any(|g| g.vmid == 103),
        "vmid arrives as a string"
    );
    let qemu: Vec<GuestListItem> = data("ans_nodes_qemu_list.json");
    assert!(!qemu.is_empty());
    let st: GuestStatus = data("ans_inv_lxc_status_current_100.pve6.2.json");
    assert!(!st.status.is_empty());
    let st: GuestStatus = data("gp_qemu_status_current.pve8.json");
    assert!(!st.status.is_empty());
}

#[test]
fn node_networks() {
    for f in [
        "gp_node_network.pve8.json",
        "ans_inv_node_network.pve6.2.json",
    ] {
        let ifaces: Vec<NetworkIface> = data(f);
        assert!(!ifaces.is_empty(), "{f}");
    }
    let ifaces: Vec<NetworkIface> = data("gp_node_network.pve8.json");
    let vlan = ifaces.iter().find(|i| i.iface == "eno1.2").unwrap();
    assert_eq!(vlan.vlan_id, Some(2), "vlan-id arrives as a string");
}

#[test]
fn tasks_upids_and_logs() {
    let tasks: Vec<TaskListItem> = data("ans_node_tasks_list.pve6.4.json");
    for t in &tasks {
        let u: Upid = t.upid.parse().unwrap();
        assert_eq!(u.starttime, t.starttime.unwrap(), "{}", t.upid);
        assert_eq!(u.to_string(), t.upid);
    }
    assert!(
        tasks
            .iter()
            .any(|t| t.status.as_deref() == Some("command 'ifreload -a' failed: exit code 1"))
    );
    let log: Vec<LogLine> = data("ans_task_log_vzdump.json");
    assert_eq!(log.last().unwrap().t, "TASK OK");
    assert_eq!(log[2].n, 23, "line numbers are kept as sent");
    let st: TaskStatus = data("ans_task_status_vzdump_stopped_ok.json");
    assert!(!st.is_running());
    assert!(exitstatus_ok(st.exitstatus.as_deref().unwrap()));
    for f in [
        "ans_vzdump_post_response.json",
        "real_qemu_clone_post_response.pve7.json",
    ] {
        let s = fixture(f)["data"].as_str().unwrap().to_string();
        let u: Upid = s.parse().unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(u.to_string(), s);
    }
    let clone: Upid = fixture("real_qemu_clone_post_response.pve7.json")["data"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        (clone.task_type.as_str(), clone.id.as_str()),
        ("qmclone", "999")
    );
}

#[test]
fn storage_content_listings() {
    let pbs: Vec<StorageContent> = data("ans_storage_content_backup_pbs.json");
    assert_eq!(pbs[0].format, "pbs-vm");
    assert_eq!(pbs[0].vmid, Some(931));
    let notes: Vec<StorageContent> = data("real_storage_content_backup_notes.iobroker341.json");
    assert_eq!(notes[0].notes.as_deref(), Some("mosquitto, 103"));
    assert_eq!(notes[0].subtype.as_deref(), Some("lxc"));
    assert!(notes[0].size.unwrap() > 0);
    let dir: Vec<StorageContent> = data("pvestorage_dir_backup_listing.derived.json");
    let formats: Vec<&str> = dir.iter().map(|b| b.format.as_str()).collect();
    for f in ["vma.zst", "tar.zst", "tgz", "vma"] {
        assert!(formats.contains(&f), "{f}");
    }
}

#[test]
fn login_nextid_and_conflict() {
    let t = fixture("gp_access_ticket_post.pve8.json");
    assert!(
        t["data"]["ticket"]
            .as_str()
            .unwrap()
            .starts_with("PVE:root@pam:")
    );
    assert!(t["data"]["CSRFPreventionToken"].as_str().is_some());
    assert_eq!(
        int_value(&fixture("gp_cluster_nextid.json")["data"]),
        Some(100)
    );
    let body = serde_json::to_vec(&fixture("gp_cluster_nextid_conflict.http400.json")).unwrap();
    match PveError::from_response(400, None, &body) {
        PveError::BadRequest { errors, .. } => {
            assert_eq!(
                errors.get("vmid").map(String::as_str),
                Some("VM 200 already exists")
            )
        }
        other => panic!("{other:?}"),
    }
}
