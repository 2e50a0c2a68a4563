//! Real LVM in the test guest, through proxdeck's own SSH runner: snapshots
//! created and listed, merged at once (origin unused) and deferred (origin
//! mounted) and completed on the next activation, exhausted into an invalid
//! snapshot, cleaned up by retention, and the guarded upgrade failing (merge
//! pending) and passing (snapshot kept). Each test works on its own LVs.

mod common;

use proxdeck::engine::{CleanupLvmSnapshots, CreateLvmSnapshot, GuardedHostUpgrade};
use std::sync::Arc;
use std::time::Duration;

use common::engine_env::{EngineEnv, config_for, fast_wait};
use common::lvmvm::LvmVm;
use common::target::Target;
use proxdeck::engine::{Action, ActionRecord, ActionState, Actor, EngineOptions, Via};
use proxdeck::host::ssh::SshRunner;
use proxdeck::host::{HostCommand, HostRunner};
use proxdeck::lvm::ops::{self, merge_outcome};
use proxdeck::lvm::{LvKind, MergeOutcome, parse_lvs};

const NODE: &str = "pve-node-01";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Run a command in the guest; it must succeed.
async fn sh(r: &SshRunner, script: &str) -> String {
    let cmd = HostCommand::script(script, &[]).timeout(Duration::from_secs(180));
    let out = r.run(NODE, &cmd, None).await.expect("ssh");
    assert!(out.ok(), "{script}: {}", out.message());
    out.stdout
}

/// A fresh origin LV `name` of `mib` MiB with an ext4 filesystem.
async fn origin(r: &SshRunner, name: &str, mib: u32) {
    sh(r, &format!("lvremove -y -f pve/{name} >/dev/null 2>&1; for s in $(lvs --noheadings -o lv_name -S origin={name} pve); do lvremove -y -f pve/$s; done; lvcreate -y -L {mib}M -n {name} pve >/dev/null && mkfs.ext4 -q /dev/pve/{name}")).await;
}

async fn lvs(r: &SshRunner) -> Vec<proxdeck::lvm::Lv> {
    let out = r.run(NODE, &ops::lvs(), None).await.expect("lvs");
    parse_lvs(&out.stdout).expect("parse")
}

#[test]
fn snapshots_merge_at_once_when_the_origin_is_unused() {
    let vm = LvmVm::connect();
    let r = SshRunner::new(&vm.config(NODE));
    rt().block_on(async {
        origin(&r, "t1root", 96).await;
        let out = r
            .run(
                NODE,
                &ops::create("pve/t1root", "t1snap", Some("32M")),
                None,
            )
            .await
            .expect("ssh");
        assert!(out.ok(), "{}", out.message());
        let l = lvs(&r).await;
        let s = l.iter().find(|x| x.name == "t1snap").expect("listed");
        assert_eq!(
            (s.kind(), s.origin.as_deref()),
            (LvKind::Snapshot, Some("t1root"))
        );
        assert_eq!(s.size_bytes, Some(32 << 20));
        // Change the origin: the snapshot fills.
        sh(
            &r,
            "dd if=/dev/urandom of=/dev/pve/t1root bs=1M count=4 seek=8 oflag=direct status=none",
        )
        .await;
        let s2 = lvs(&r)
            .await
            .into_iter()
            .find(|x| x.name == "t1snap")
            .expect("listed");
        assert!(
            s2.snap_percent.unwrap_or(0.0) > s.snap_percent.unwrap_or(0.0),
            "{:?} -> {:?}",
            s.snap_percent,
            s2.snap_percent
        );
        let out = r
            .run(NODE, &ops::merge("pve", "t1snap"), None)
            .await
            .expect("ssh");
        assert_eq!(
            merge_outcome(&out),
            Ok(MergeOutcome::Merged),
            "{}",
            out.message()
        );
        assert!(
            !lvs(&r).await.iter().any(|x| x.name == "t1snap"),
            "merged away"
        );
        sh(&r, "lvremove -y pve/t1root").await;
    });
}

#[test]
fn a_merge_into_a_mounted_origin_waits_for_the_next_activation() {
    let vm = LvmVm::connect();
    let r = SshRunner::new(&vm.config(NODE));
    rt().block_on(async {
        origin(&r, "t2root", 96).await;
        sh(
            &r,
            "mkdir -p /run/t2 && mount /dev/pve/t2root /run/t2 && echo before > /run/t2/f && sync",
        )
        .await;
        assert!(
            r.run(
                NODE,
                &ops::create("pve/t2root", "t2snap", Some("32M")),
                None
            )
            .await
            .expect("ssh")
            .ok()
        );
        sh(&r, "echo after > /run/t2/f && sync").await;
        let out = r
            .run(NODE, &ops::merge("pve", "t2snap"), None)
            .await
            .expect("ssh");
        assert_eq!(
            merge_outcome(&out),
            Ok(MergeOutcome::Deferred),
            "{}",
            out.message()
        );
        let l = lvs(&r).await;
        let s = l.iter().find(|x| x.name == "t2snap").expect("still listed");
        assert_eq!(
            (s.kind(), s.state()),
            (LvKind::MergingSnapshot, "merge_pending")
        );
        assert_eq!(
            l.iter()
                .find(|x| x.name == "t2root")
                .expect("origin")
                .kind(),
            LvKind::MergingOrigin
        );
        // A pending merge cannot be removed.
        let out = r
            .run(NODE, &ops::remove("pve", "t2snap"), None)
            .await
            .expect("ssh");
        assert_eq!(
            out.message(),
            "Can't remove merging snapshot logical volume pve/t2snap."
        );
        // The next activation completes it: the origin has the snapshot's contents.
        sh(
            &r,
            "umount /run/t2 && lvchange -an pve/t2root && lvchange -ay pve/t2root && sleep 2",
        )
        .await;
        assert!(!lvs(&r).await.iter().any(|x| x.name == "t2snap"));
        let content = sh(
            &r,
            "mount /dev/pve/t2root /run/t2 && cat /run/t2/f; umount /run/t2",
        )
        .await;
        assert_eq!(content.trim(), "before");
        sh(&r, "lvremove -y pve/t2root").await;
    });
}

#[test]
fn an_exhausted_snapshot_turns_invalid_and_cannot_be_merged() {
    let vm = LvmVm::connect();
    let r = SshRunner::new(&vm.config(NODE));
    rt().block_on(async {
        origin(&r, "t3root", 64).await;
        assert!(r.run(NODE, &ops::create("pve/t3root", "t3tiny", Some("8M")), None).await.expect("ssh").ok());
        sh(&r, "dd if=/dev/urandom of=/dev/pve/t3root bs=1M count=20 oflag=direct status=none; sleep 1").await;
        let s = lvs(&r).await.into_iter().find(|x| x.name == "t3tiny").expect("listed");
        assert!(s.is_invalid(), "attr {}", s.attr);
        assert_eq!(s.state(), "invalid");
        let out = r.run(NODE, &ops::merge("pve", "t3tiny"), None).await.expect("ssh");
        assert_eq!(merge_outcome(&out), Err("Unable to merge invalidated snapshot LV pve/t3tiny.".into()));
        sh(&r, "lvremove -y pve/t3tiny pve/t3root").await;
    });
}

/// An engine whose `pve-node-01` is the LVM guest (the API side is the simulator).
async fn engine_on_vm(vm: &LvmVm, root: &str, upgrade: &str) -> EngineEnv {
    let target = Target::sim().await;
    let mut cfg = config_for(&target);
    cfg.policies.ops.lvm.default_volume = format!("pve/{root}");
    cfg.policies.ops.lvm.snapshot_size = "32M".into();
    cfg.policies.ops.upgrade.command = upgrade.into();
    EngineEnv::with_hosts(
        target,
        cfg,
        EngineOptions {
            wait: fast_wait(),
            ..Default::default()
        },
        Some(Arc::new(SshRunner::new(&vm.config(NODE))) as Arc<dyn HostRunner>),
    )
}

async fn run(env: &EngineEnv, action: Action) -> ActionRecord {
    let me = Actor::local(Via::Cli);
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(action, me.clone(), None, &inv)
        .await
        .expect("planned");
    if rec.state == ActionState::PendingApproval {
        env.engine
            .approve(&rec.id, me, rec.plan_hash.as_deref().unwrap_or(""), None)
            .await
            .expect("approved");
    }
    env.engine.run_once().await.expect("ran");
    env.engine
        .get(&rec.id)
        .await
        .expect("read")
        .expect("record")
}

#[test]
fn a_failing_upgrade_is_rolled_back_by_a_pending_merge() {
    let vm = LvmVm::connect();
    rt().block_on(async {
        let env = engine_on_vm(&vm, "t4root", "echo upgrading; echo broken >&2; exit 100").await;
        let r = SshRunner::new(&vm.config(NODE));
        origin(&r, "t4root", 96).await;
        sh(&r, "mkdir -p /run/t4 && mount /dev/pve/t4root /run/t4").await;
        let rec = run(&env, Action::GuardedHostUpgrade(GuardedHostUpgrade { node: NODE.into(), command: None })).await;
        assert_eq!(rec.state, ActionState::RolledBack, "{:?}", rec.error);
        let err = rec.error.clone().unwrap_or_default();
        assert!(err.contains("exited 100") && err.contains("reboot"), "{err}");
        let snap = rec.plan.as_ref().and_then(|p| p.safety_snapshot.clone()).expect("snapshot");
        let s = lvs(&r).await.into_iter().find(|x| x.name == snap).expect("listed");
        assert_eq!(s.state(), "merge_pending");
        // Until the merge completes, LVM refuses another snapshot of the origin.
        let again = r
            .run(NODE, &ops::create("pve/t4root", "t4again", Some("16M")), None)
            .await
            .expect("ssh");
        assert!(
            again
                .message()
                .contains("Snapshots of an origin that has a merging snapshot are not supported."),
            "{}",
            again.message()
        );
        let output: Vec<String> = env.engine.log(&rec.id).await.expect("log").into_iter().map(|(_, _, l)| l).collect();
        assert!(output.iter().any(|l| l == "upgrading") && output.iter().any(|l| l == "broken"), "{output:#?}");
        sh(&r, "umount /run/t4; lvchange -an pve/t4root; lvchange -ay pve/t4root; sleep 2; lvremove -y pve/t4root").await;
    });
}

#[test]
fn a_passing_upgrade_keeps_its_snapshot_and_retention_cleans_up_later() {
    let vm = LvmVm::connect();
    rt().block_on(async {
        let env = engine_on_vm(&vm, "t5root", "echo upgraded").await;
        let r = SshRunner::new(&vm.config(NODE));
        origin(&r, "t5root", 96).await;
        let rec = run(
            &env,
            Action::GuardedHostUpgrade(GuardedHostUpgrade {
                node: NODE.into(),
                command: None,
            }),
        )
        .await;
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
        let snap = rec
            .plan
            .as_ref()
            .and_then(|p| p.safety_snapshot.clone())
            .expect("snapshot");
        assert_eq!(
            lvs(&r)
                .await
                .into_iter()
                .find(|x| x.name == snap)
                .expect("kept")
                .state(),
            "present"
        );
        // A second, manual one; then the upgrade's grows old.
        let rec = run(
            &env,
            Action::CreateLvmSnapshot(CreateLvmSnapshot {
                node: NODE.into(),
                volume: None,
                name: Some("t5manual".into()),
                size: Some("16M".into()),
                description: None,
            }),
        )
        .await;
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
        let old = snap.clone();
        env.db()
            .write(move |tx| {
                tx.execute(
                    "UPDATE snapshots SET created_at = created_at - 31 * 86400 WHERE name = ?1",
                    [&old],
                )?;
                Ok::<_, proxdeck::store::StoreError>(())
            })
            .expect("aged");
        let rec = run(
            &env,
            Action::CleanupLvmSnapshots(CleanupLvmSnapshots {
                node: Some(NODE.into()),
            }),
        )
        .await;
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
        let names: Vec<String> = lvs(&r).await.into_iter().map(|l| l.name).collect();
        assert!(
            !names.contains(&snap) && names.contains(&"t5manual".to_string()),
            "{names:?}"
        );
        sh(&r, "lvremove -y pve/t5manual pve/t5root").await;
    });
}

/// A thin pool with a thin volume, as on a Proxmox node with LVM-thin: the
/// volume's snapshot is thin (made without a size, in the pool, not the
/// volume group's free space), LVM merges it by letting it replace its
/// origin, and the pool itself is refused before anything runs.
#[test]
fn thin_volumes_get_thin_snapshots_and_the_pool_is_refused() {
    let vm = LvmVm::connect();
    rt().block_on(async {
        let r = SshRunner::new(&vm.config(NODE));
        sh(
            &r,
            "lvremove -y -f pve/t6pool >/dev/null 2>&1; lvcreate -y -L 160M -T pve/t6pool >/dev/null && lvcreate -y -V 64M -T pve/t6pool -n t6disk >/dev/null && mkfs.ext4 -q /dev/pve/t6disk",
        )
        .await;
        let env = engine_on_vm(&vm, "t6disk", "true").await;
        let rec = run(
            &env,
            Action::CreateLvmSnapshot(CreateLvmSnapshot {
                node: NODE.into(),
                volume: Some("pve/t6disk".into()),
                name: Some("t6snap".into()),
                size: None,
                description: None,
            }),
        )
        .await;
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
        let plan = rec.plan.expect("plan");
        assert!(
            plan.steps
                .iter()
                .any(|s| s.description == "lvcreate -s -n t6snap pve/t6disk"),
            "{:?}",
            plan.steps
        );
        let l = lvs(&r).await;
        let s = l.iter().find(|x| x.name == "t6snap").expect("listed");
        // A thin snapshot (`V`, target type thin) lives in the pool: it has
        // its origin's virtual size and no copy-on-write area of its own.
        assert_eq!(s.kind(), LvKind::ThinSnapshot, "attr {}", s.attr);
        assert!(s.is_thin_volume(), "attr {}", s.attr);
        assert_eq!(s.size_bytes, Some(64 << 20));
        let pool = l.iter().find(|x| x.name == "t6pool").expect("pool");
        assert_eq!(pool.kind(), LvKind::ThinPool, "attr {}", pool.attr);
        // The pool: refused in LVM's words when planning; and LVM agrees.
        let inv = env.inventory().await;
        let refused = env
            .engine
            .propose(
                Action::CreateLvmSnapshot(CreateLvmSnapshot {
                    node: NODE.into(),
                    volume: Some("pve/t6pool".into()),
                    name: Some("t6bad".into()),
                    size: Some("16M".into()),
                    description: None,
                }),
                Actor::local(Via::Cli),
                None,
                &inv,
            )
            .await;
        assert!(
            matches!(&refused, Err(proxdeck::engine::EngineError::NotPossible(m))
                if m.contains("Snapshots of thin pool type volumes are not supported.")),
            "{refused:?}"
        );
        let out = r
            .run(NODE, &ops::create("pve/t6pool", "t6bad", Some("16M")), None)
            .await
            .expect("ssh");
        assert!(
            out.message()
                .contains("Snapshots of thin pool type volumes are not supported."),
            "{}",
            out.message()
        );
        // Merging a thin snapshot: it takes its origin's place.
        let out = r.run(NODE, &ops::merge("pve", "t6snap"), None).await.expect("ssh");
        assert_eq!(merge_outcome(&out), Ok(MergeOutcome::Merged), "{}", out.message());
        sh(&r, "lvremove -y pve/t6disk pve/t6pool").await;
    });
}
