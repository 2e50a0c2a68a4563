//! VMIDs by the design's scheme (`vmid_pattern: "{node_num}{seq:02d}"`):
//! replicating pve-db-01 gives pve-db-02 as 201 on node-02 and pve-db-03 as
//! 301 on node-03, the design's status table to the byte, on the simulator
//! and on fakepve; an ID taken anywhere in the cluster is skipped; four
//! processes planning at once never share an ID; a full range is refused by
//! name.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::fakepve::{FakePve, Options};
use common::target::Target;
use common::{proxdeck, support, text};
use proxdeck::pve::requests::CloneOptions;
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::sim::Scenario;
use proxdeck::sim::scenario::GuestDoc;
use serde_json::{Value, json};

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// Plan, approve, run and report one replication through the CLI.
fn replicate_and_report(dir: &Path, db: &Path, args: &[&str]) -> Value {
    let mut a = vec!["plan", "replicate", "pve-db-01"];
    a.extend_from_slice(args);
    a.push("--json");
    let p = proxdeck(dir, db, &a, &[]);
    assert!(p.status.success(), "{}", text(&p));
    let id = json_of(&p)["id"].as_str().unwrap().to_string();
    let o = proxdeck(dir, db, &["approve", &id], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, db, &["run", "--once"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, db, &["status", &id, "--json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let mut st = json_of(&o);
    assert_eq!(st["task_id"], id.as_str());
    st["task_id"] = json!("repl-101-20260129");
    st
}

/// The design's `GET /api/clone/status/repl-101-20260129`, byte for byte.
fn design_status() -> Value {
    json!({
      "task_id": "repl-101-20260129",
      "status": "completed",
      "progress": 100,
      "results": [
        {
          "target_node": "pve-node-02",
          "new_resource_id": "201",
          "new_resource_name": "pve-db-02",
          "ip": "192.168.2.101",
          "mac": "02:00:00:a2:65:01",
          "status": "success"
        },
        {
          "target_node": "pve-node-03",
          "new_resource_id": "301",
          "new_resource_name": "pve-db-03",
          "ip": "192.168.3.101",
          "mac": "02:00:00:a3:65:01",
          "status": "success"
        }
      ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_design_example_comes_out_as_written_on_the_simulator() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let st = replicate_and_report(cfg.path(), &cfg.path().join("p.db"), &[]);
    assert_eq!(st, design_status());
    // The guests are where the IDs say.
    for (vmid, node) in [(201, "pve-node-02"), (301, "pve-node-03")] {
        let cfg = t
            .client()
            .guest_config(&GuestRef::new(node, GuestKind::Qemu, vmid))
            .await
            .unwrap();
        assert!(cfg.is_template());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_design_example_comes_out_as_written_on_fakepve() {
    // The template on shared storage, so the copy is a clone with `target`
    // (fakepve does not move a qemu guest on migrate).
    let f = FakePve::start(Options::new(&support("shared-template-guests.json")));
    let cfg = common::config_dir_for(&f.url, &f.fingerprint);
    let st = replicate_and_report(cfg.path(), &cfg.path().join("p.db"), &[]);
    assert_eq!(st, design_status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_taken_on_another_node_is_skipped() {
    // 201 already belongs to a guest on node-01.
    let scenario = Scenario::seed().with_guest(GuestDoc {
        vmid: 201,
        name: "pve-app-07".into(),
        kind: GuestKind::Lxc,
        node: "pve-node-01".into(),
        status: "stopped".into(),
        template: false,
        config: [
            ("hostname".to_string(), "pve-app-07"),
            ("rootfs".to_string(), "local-lvm:vm-201-disk-0,size=2G"),
        ]
        .into_iter()
        .map(|(k, v)| (k, proxdeck::sim::scenario::Scalar::Text(v.into())))
        .collect(),
        snapshots: Vec::new(),
    });
    let t = Target::sim_with(scenario, 0.0).await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let st = replicate_and_report(cfg.path(), &cfg.path().join("p.db"), &["--to", "node-02"]);
    assert_eq!(st["results"][0]["new_resource_id"], "202", "{st:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_taken_since_the_cluster_was_read_is_planned_around() {
    use common::engine_env::EngineEnv;
    use proxdeck::engine::{Action, Actor, Replicate, Targets, Via};
    let env = EngineEnv::new(Target::sim().await).await;
    let stale = env.inventory().await;
    // Someone makes guest 201 after proxdeck read the cluster.
    let up = env
        .engine
        .client()
        .clone_guest(
            &GuestRef::new("pve-node-01", GuestKind::Qemu, 101),
            &CloneOptions {
                newid: 201,
                name: Some("made-elsewhere".into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    env.engine
        .client()
        .wait_task(&up, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    let rec = env
        .engine
        .propose_held(
            Action::Replicate(Replicate {
                source: EngineEnv::sel(&stale, "pve-db-01"),
                targets: Targets::Nodes(vec!["pve-node-02".into()]),
                start: false,
            }),
            Actor::local(Via::Cli),
            None,
            &stale,
        )
        .await
        .unwrap();
    let t = &rec.plan.unwrap().targets[0];
    assert_eq!(t.vmid, 202, "Proxmox said 201 is taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_range_is_refused_by_name_and_nextid_is_an_opt_in() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    // Nine IDs per node: 121-129 on node-02.
    let naming = std::fs::read_to_string(dir.join("naming-conventions.yml"))
        .unwrap()
        .replace(
            "vmid_pattern: \"{node_num}{seq:02d}\"",
            "vmid_pattern: \"1{node_num}{seq:01d}\"",
        );
    assert!(naming.contains("vmid_pattern: \"1{node_num}{seq:01d}\""));
    std::fs::write(dir.join("naming-conventions.yml"), &naming).unwrap();
    let mut got = Vec::new();
    for _ in 0..9 {
        let o = proxdeck(
            dir,
            &db,
            &["plan", "clone", "pve-av-01", "--to", "node-02", "--json"],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
        got.push(json_of(&o)["plan"]["targets"][0]["vmid"].as_u64().unwrap());
    }
    assert_eq!(got, (121..=129).collect::<Vec<u64>>());
    let o = proxdeck(
        dir,
        &db,
        &["plan", "clone", "pve-av-01", "--to", "node-02"],
        &[],
    );
    assert!(!o.status.success());
    let msg = text(&o);
    assert!(
        msg.contains("node-02's VMID range 121-129")
            && msg.contains("is full")
            && msg.contains("vmid_fallback: nextid"),
        "{msg}"
    );
    // Opting in to Proxmox's next free ID.
    std::fs::write(
        dir.join("naming-conventions.yml"),
        format!("{naming}\nvmid_fallback: nextid\n"),
    )
    .unwrap();
    let o = proxdeck(
        dir,
        &db,
        &["plan", "clone", "pve-av-01", "--to", "node-02", "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v = json_of(&o)["plan"]["targets"][0]["vmid"].as_u64().unwrap();
    assert!(!(121..=129).contains(&v) && v >= 100, "{v}");
}

/// Four processes planning a clone each at the same time get four IDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_never_plan_the_same_id() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    // The database exists before the four start.
    let o = proxdeck(dir, &db, &["queue"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(common::proxdeck_bin())
                .arg("--config")
                .arg(dir)
                .arg("--db")
                .arg(&db)
                .args(["plan", "clone", "pve-av-01", "--to", "node-02", "--json"])
                .env("PROXDECK_TEST_TOKEN", common::fakepve::TOKEN_SECRET)
                .env("XDG_STATE_HOME", dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        ids.push(
            json_of(&out)["plan"]["targets"][0]["vmid"]
                .as_u64()
                .unwrap(),
        );
    }
    ids.sort_unstable();
    assert_eq!(ids, vec![201, 202, 203, 204]);
}
