//! Safety snapshots are always this action's own (F15 of the reliability
//! review, fakepve's "same-minute rollback"): unique names per action, a
//! name in use refused when planning, and an existing snapshot counted as
//! done only when this action's step made it. LVM names are not shared by
//! two plans either.

mod common;

use common::engine_env::EngineEnv;
use common::target::Target;
use proxdeck::engine::{
    Action, ActionState, CreateGuestSnapshot, CreateLvmSnapshot, EngineError, GuardedHostUpgrade,
    RollbackGuestSnapshot,
};
use proxdeck::pve::requests::SnapshotOptions;
use proxdeck::pve::{GuestKind, GuestRef};

const AV: (&str, GuestKind, u32) = ("pve-node-01", GuestKind::Qemu, 102);

async fn snapshot_names(env: &EngineEnv) -> Vec<String> {
    env.engine
        .client()
        .snapshots(&GuestRef::new(AV.0, AV.1, AV.2))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rollbacks_in_one_minute_each_take_their_own_safety_snapshot() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rollback = |snap: &str| {
        Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: EngineEnv::sel(&inv, "pve-av-01"),
            snapshot: snap.into(),
            start: false,
        })
    };
    let a = env.run_action_later(rollback("pre-upgrade")).await;
    let b = env.run_action_later(rollback("before-av-update")).await;
    let safety = |id: &str| {
        let env = &env;
        let id = id.to_string();
        async move {
            env.engine
                .get(&id)
                .await
                .unwrap()
                .unwrap()
                .plan
                .unwrap()
                .safety_snapshot
                .unwrap()
        }
    };
    let (sa, sb) = (safety(&a).await, safety(&b).await);
    assert_ne!(sa, sb, "each action has its own safety snapshot");
    assert!(sa.len() <= 40 && sb.len() <= 40);
    assert_eq!(env.engine.run_once().await.unwrap(), 2);
    let names = snapshot_names(&env).await;
    for (id, s) in [(&a, &sa), (&b, &sb)] {
        let rec = env.engine.get(id).await.unwrap().unwrap();
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
        assert!(names.contains(s), "{s} was taken: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_name_in_use_is_refused_when_planning() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let snap = |name: &str| {
        Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: EngineEnv::sel(&inv, "pve-av-01"),
            name: Some(name.into()),
            description: None,
            vmstate: false,
        })
    };
    let taken = env.propose(snap("pre-upgrade")).await;
    assert!(
        matches!(&taken, Err(EngineError::Invalid(m)) if m.contains("already has a snapshot named pre-upgrade")),
        "{taken:?}"
    );
    env.run_action_later(snap("fresh-one")).await;
    let twice = env.propose(snap("fresh-one")).await;
    assert!(
        matches!(&twice, Err(EngineError::Invalid(m)) if m.contains("another action already plans")),
        "{twice:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_someone_else_took_is_not_counted_as_done() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let id = env
        .run_action_later(Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: EngineEnv::sel(&inv, "pve-av-01"),
            name: Some("race".into()),
            description: None,
            vmstate: false,
        }))
        .await;
    // Between planning and running, someone takes the name by hand.
    let c = env.engine.client();
    let up = c
        .create_snapshot(
            &GuestRef::new(AV.0, AV.1, AV.2),
            &SnapshotOptions {
                snapname: "race".into(),
                description: Some("by hand".into()),
                vmstate: None,
            },
        )
        .await
        .unwrap();
    c.wait_task(&up, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    env.engine.run_once().await.unwrap();
    let rec = env.engine.get(&id).await.unwrap().unwrap();
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("already has a snapshot named race that this action did not take"),
        "{:?}",
        rec.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lvm_plans_never_share_a_snapshot_name() {
    let env = EngineEnv::edited(Target::sim().await, |_| {});
    let a = env
        .run_action_later(Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: "node-01".into(),
            volume: None,
            name: None,
            size: None,
            description: None,
        }))
        .await;
    let b = env
        .run_action_later(Action::GuardedHostUpgrade(GuardedHostUpgrade {
            node: "node-01".into(),
            command: Some("true".into()),
        }))
        .await;
    let name_of = |id: String| {
        let env = &env;
        async move {
            let p = env.engine.get(&id).await.unwrap().unwrap().plan.unwrap();
            p.snapshot.or(p.safety_snapshot).unwrap()
        }
    };
    assert_ne!(name_of(a).await, name_of(b).await);
}
