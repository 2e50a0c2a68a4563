//! The simulator's own behaviour: scenarios, faults on demand, timing and
//! locks, parameter checks, and the listen-address guard.

mod common;

use std::time::Duration;

use common::target::Target;
use proxdeck::pve::requests::*;
use proxdeck::pve::types::GuestKind;
use proxdeck::pve::{GuestRef, PveError, TaskEvent, WaitOptions};
use proxdeck::sim::{self, Scenario, SimOptions};
use serde_json::json;

const N1: &str = "pve-node-01";

fn wait() -> WaitOptions {
    WaitOptions {
        poll_start: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        timeout: Some(Duration::from_secs(60)),
        page: 500,
    }
}

/// A raw request with the harness token, for checking bodies and reason phrases.
async fn raw(
    t: &Target,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    let tls = proxdeck::pve::tls::client_config(&t.pin()).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls.config)
        .build()
        .unwrap();
    let url = format!("{}/api2/json{path}", t.url);
    let mut req = http.request(method.clone(), url).header(
        "Authorization",
        format!(
            "PVEAPIToken={}={}",
            common::fakepve::TOKEN_ID,
            common::fakepve::TOKEN_SECRET
        ),
    );
    req = if method == reqwest::Method::GET {
        req.query(form)
    } else {
        req.form(form)
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).to_string())
        .unwrap_or_default();
    (status, reason, resp.bytes().await.unwrap().to_vec())
}

async fn admin(t: &Target, what: &str, body: serde_json::Value) {
    t.sim_post(what, body).await;
}

#[tokio::test]
async fn the_seed_scenario_has_exactly_the_designs_guests() {
    let t = Target::sim().await;
    let c = t.client();
    let res = c.cluster_resources(Some("vm")).await.unwrap();
    let mut guests: Vec<(u32, String, String, String, bool)> = res
        .iter()
        .map(|r| {
            (
                r.vmid.unwrap(),
                r.name.clone().unwrap(),
                r.node.clone().unwrap(),
                r.kind.clone(),
                r.template,
            )
        })
        .collect();
    guests.sort();
    assert_eq!(
        guests,
        vec![
            (
                101,
                "pve-db-01".into(),
                "pve-node-01".into(),
                "qemu".into(),
                true
            ),
            (
                102,
                "pve-av-01".into(),
                "pve-node-01".into(),
                "qemu".into(),
                false
            ),
            (
                103,
                "pve-test-01".into(),
                "pve-node-01".into(),
                "lxc".into(),
                false
            ),
            (
                105,
                "pve-web-01".into(),
                "pve-node-02".into(),
                "lxc".into(),
                false
            ),
            // On ZFS, where only the newest snapshot can be rolled back to.
            (
                350,
                "pve-app-03".into(),
                "pve-node-03".into(),
                "qemu".into(),
                false
            ),
        ]
    );
    let db = c
        .guest_config(&GuestRef::new(N1, GuestKind::Qemu, 101))
        .await
        .unwrap();
    assert_eq!(
        db.qemu_net(0).unwrap().mac().unwrap().to_string(),
        "02:00:00:a1:65:01"
    );
    assert_eq!(
        db.ipconfig(0).unwrap().ip().unwrap().address(),
        Some("192.168.1.101".parse().unwrap())
    );
    // Every pane has something: snapshots and backups exist.
    let snaps = c
        .snapshots(&GuestRef::new(N1, GuestKind::Qemu, 102))
        .await
        .unwrap();
    assert!(
        snaps
            .iter()
            .any(|s| s.name == "before-av-update" && s.parent.as_deref() == Some("pre-upgrade"))
    );
    let local = c
        .storage_content(N1, "local", Some("backup"), None)
        .await
        .unwrap();
    assert!(local.len() >= 3, "{local:?}");
    let nfs = c
        .storage_content("pve-node-02", "nfs-backup", Some("backup"), None)
        .await
        .unwrap();
    assert_eq!(nfs.len(), 5);
    assert!(nfs.iter().any(|b| b.protected));
    // The shared storage shows the same content from every node.
    let nfs3 = c
        .storage_content("pve-node-03", "nfs-backup", Some("backup"), None)
        .await
        .unwrap();
    assert_eq!(nfs3.len(), 5);
}

#[tokio::test]
async fn ten_thousand_guests_come_in_one_resources_answer() {
    let t = Target::sim_with(Scenario::generated(50, 10_000, 7), 0.0).await;
    let c = t.client();
    let res = c.cluster_resources(None).await.unwrap();
    assert_eq!(res.iter().filter(|r| r.is_guest()).count(), 10_000);
    assert_eq!(res.iter().filter(|r| r.kind == "node").count(), 50);
    let mut handle = t;
    assert_eq!(handle.count_requests("GET", "/cluster/resources").await, 1);
}

#[tokio::test]
async fn an_injected_error_has_proxmoxs_status_reason_and_body() {
    let t = Target::sim().await;
    admin(&t, "fail", json!({"method": "GET", "path": "/nodes/pve-node-01/qemu", "status": 500, "message": "cluster not ready - no quorum?", "times": 1})).await;
    let (status, reason, body) =
        raw(&t, reqwest::Method::GET, "/nodes/pve-node-01/qemu", &[]).await;
    assert_eq!(
        (status, reason.as_str()),
        (500, "cluster not ready - no quorum?")
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        json!({"data": null, "message": "cluster not ready - no quorum?\n"})
    );
    // Counted: the next request is fine.
    let (status, _, _) = raw(&t, reqwest::Method::GET, "/nodes/pve-node-01/qemu", &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_bad_parameter_is_a_400_with_per_field_errors() {
    let t = Target::sim().await;
    let (status, reason, body) = raw(
        &t,
        reqwest::Method::POST,
        "/nodes/pve-node-01/qemu/101/clone",
        &[("full", "maybe"), ("colour", "red")],
    )
    .await;
    assert_eq!(
        (status, reason.as_str()),
        (400, "Parameter verification failed.")
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"], json!(null));
    assert_eq!(v["message"], "Parameter verification failed.\n");
    assert_eq!(
        v["errors"]["newid"],
        "property is missing and it is not optional"
    );
    assert_eq!(
        v["errors"]["full"],
        "type check ('boolean') failed - got 'maybe'"
    );
    assert_eq!(
        v["errors"]["colour"],
        "property is not defined in schema and the schema does not allow additional properties"
    );
}

#[tokio::test]
async fn an_offline_node_answers_595_with_an_empty_body() {
    let t = Target::sim().await;
    admin(&t, "node", json!({"node": "pve-node-02", "online": false})).await;
    let (status, reason, body) =
        raw(&t, reqwest::Method::GET, "/nodes/pve-node-02/status", &[]).await;
    assert_eq!((status, reason.as_str()), (595, "No route to host"));
    assert!(body.is_empty());
    let res = t.client().cluster_resources(None).await.unwrap();
    let node = res.iter().find(|r| r.id == "node/pve-node-02").unwrap();
    assert_eq!(node.status.as_deref(), Some("offline"));
    let web = res.iter().find(|r| r.vmid == Some(105)).unwrap();
    assert_eq!(
        web.status.as_deref(),
        Some("unknown"),
        "guests of an offline node are unknown"
    );
}

#[tokio::test]
async fn auth_failures_are_401_with_empty_bodies() {
    let t = Target::sim().await;
    let tls = proxdeck::pve::tls::client_config(&t.pin()).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls.config)
        .build()
        .unwrap();
    let resp = http
        .get(format!("{}/api2/json/version", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = http
        .post(format!("{}/api2/json/access/ticket", t.url))
        .header(
            "Authorization",
            format!(
                "PVEAPIToken={}={}",
                common::fakepve::TOKEN_ID,
                common::fakepve::TOKEN_SECRET
            ),
        )
        .form(&[("username", "root@pam"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        403,
        "a token cannot ask for a ticket"
    );
}

#[tokio::test]
async fn a_task_failing_at_half_way_ends_in_error_and_leaves_nothing_behind() {
    let t = Target::sim().await;
    admin(&t, "task-fail", json!({"task_type": "qmclone", "at_percent": 50.0, "message": "clone failed: storage write error", "times": 1})).await;
    let c = t.client();
    let newid = c.next_id().await.unwrap();
    let up = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Qemu, 101),
            &CloneOptions {
                newid,
                name: Some("pve-db-07".into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut progress = Vec::new();
    let err = c
        .wait_task(&up, &wait(), |e| {
            if let TaskEvent::Progress(p) = e {
                progress.push(p)
            }
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PveError::TaskFailed {
            upid: up.to_string(),
            exitstatus: "clone failed: storage write error".into()
        }
    );
    assert_eq!(progress.last().copied(), Some(50.0), "{progress:?}");
    let (lines, _) = c.task_log(&up, 0, 100).await.unwrap();
    assert_eq!(
        lines.last().unwrap().t,
        "TASK ERROR: clone failed: storage write error"
    );
    assert!(
        c.guest_config(&GuestRef::new(N1, GuestKind::Qemu, newid))
            .await
            .is_err(),
        "the half-made clone is gone"
    );
}

#[tokio::test]
async fn tasks_take_simulated_time_and_hold_the_lock_until_stopped() {
    // 10 real seconds per simulated second: the clone would take minutes.
    let t = Target::sim_with(Scenario::seed(), 10.0).await;
    let c = t.client();
    let newid = c.next_id().await.unwrap();
    let up = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Qemu, 101),
            &CloneOptions {
                newid,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let st = c.task_status(&up).await.unwrap();
    assert!(st.is_running());
    let new = GuestRef::new(N1, GuestKind::Qemu, newid);
    assert_eq!(c.guest_config(&new).await.unwrap().lock(), Some("clone"));
    // A locked guest refuses other work.
    let err = c.power(&new, Power::Start).await.unwrap();
    let err = c.wait_task(&err, &wait(), |_| {}).await.unwrap_err();
    assert_eq!(err.proxmox_message(), Some("VM is locked (clone)"));
    c.stop_task(&up).await.unwrap();
    let err = c.wait_task(&up, &wait(), |_| {}).await.unwrap_err();
    assert_eq!(err.proxmox_message(), Some("interrupted by signal"));
    assert!(
        c.guest_config(&new).await.is_err(),
        "a stopped clone is cleaned up"
    );
}

#[tokio::test]
async fn progress_moves_forward_to_the_end() {
    let t = Target::sim_with(Scenario::seed(), 0.002).await;
    let c = t.client();
    let up = c
        .vzdump(
            N1,
            &VzdumpOptions {
                vmids: vec![102],
                storage: Some("local".into()),
                compress: Some(Compression::Zstd),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut progress = Vec::new();
    c.wait_task(&up, &wait(), |e| {
        if let TaskEvent::Progress(p) = e {
            progress.push(p)
        }
    })
    .await
    .unwrap();
    assert_eq!(
        progress.len(),
        10,
        "one INFO: N% line per tenth: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.last().copied(), Some(100.0));
    let backups = c
        .storage_content(N1, "local", Some("backup"), Some(102))
        .await
        .unwrap();
    let newest = backups.iter().max_by_key(|b| b.ctime).unwrap();
    assert!(
        newest.volid.starts_with("local:backup/vzdump-qemu-102-")
            && newest.volid.ends_with(".vma.zst"),
        "{newest:?}"
    );
}

#[tokio::test]
async fn a_held_config_lock_times_out_until_released() {
    let t = Target::sim().await;
    let c = t.client();
    let ct = GuestRef::new("pve-node-02", GuestKind::Lxc, 105);
    admin(&t, "lock", json!({"vmid": 105, "secs": 3600.0})).await;
    let err = c
        .set_config(&ct, &ConfigChange::default().set("description", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.proxmox_message(),
        Some("can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout")
    );
    // A lock held for 0 seconds has already expired.
    admin(&t, "lock", json!({"vmid": 105, "secs": 0.0})).await;
    c.set_config(&ct, &ConfigChange::default().set("description", "x"))
        .await
        .unwrap();
}

#[tokio::test]
async fn added_latency_delays_answers() {
    let t = Target::sim().await;
    admin(&t, "latency", json!({"ms": 300})).await;
    let c = t.client();
    let started = std::time::Instant::now();
    c.version().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn scenario_files_carry_their_own_faults() {
    let text = r#"
cluster: faulty
nodes:
  - { name: n1, ip: 10.9.0.11 }
  - { name: n2, ip: 10.9.0.12, offline: true }
storages:
  - { id: local, type: dir, content: [backup] }
  - { id: local-lvm, type: lvmthin, content: [images, rootdir] }
guests:
  - { vmid: 200, name: app-01, type: lxc, node: n1, status: stopped, config: { rootfs: "local-lvm:vm-200-disk-0,size=2G" } }
faults:
  http:
    - { method: GET, path: /version, status: 503, message: "Service Unavailable" }
  locks:
    - { vmid: 200, lock: backup }
"#;
    let t = Target::sim_with(Scenario::parse(text, "faulty.yml").unwrap(), 0.0).await;
    let c = t.client();
    let err = c.version().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(c.node_status("n2").await.unwrap_err().status(), Some(595));
    let err = c
        .power(&GuestRef::new("n1", GuestKind::Lxc, 200), Power::Start)
        .await
        .unwrap_err();
    assert_eq!(err.proxmox_message(), Some("CT is locked (backup)"));
}

#[tokio::test]
async fn a_non_loopback_address_is_refused_without_the_flag() {
    let mut o = SimOptions::new(Scenario::seed());
    o.listen = "0.0.0.0:0".parse().unwrap();
    let err = sim::start(o).await.err().expect("refused");
    assert!(err.contains("--allow-remote"), "{err}");
}
