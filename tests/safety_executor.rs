//! What the executor checks before it runs anything (F2, F5 of the
//! reliability review): the plan is the one approved, an approval is on
//! record, the policy still allows it against the guests as they are now;
//! and (F4) two actions on one guest never run at the same time.

mod common;

use common::engine_env::{EngineEnv, me};
use common::target::Target;
use proxdeck::engine::{
    Action, ActionState, CloneGuest, CreateGuestSnapshot, EngineError, RollbackGuestSnapshot,
};
use proxdeck::pve::requests::ConfigChange;
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::sim::Scenario;
use proxdeck::store::StoreError;

fn clone_av(env_inv: &proxdeck::inventory::Inventory) -> Action {
    Action::CloneGuest(CloneGuest {
        source: EngineEnv::sel(env_inv, "pve-av-01"),
        target_node: "node-02".into(),
        role: None,
        start: false,
    })
}

/// Change the queue behind the engine's back, as anyone with write access
/// to the database file can.
fn tamper(env: &EngineEnv, sql: &str, id: &str) {
    env.db()
        .write(|tx| {
            tx.execute(sql, [id])?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

async fn audit_events(env: &EngineEnv, id: &str) -> Vec<String> {
    let id = id.to_string();
    env.db()
        .read(move |c| {
            let mut st =
                c.prepare("SELECT event FROM audit_log WHERE action_id = ?1 ORDER BY seq")?;
            let rows = st
                .query_map([&id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap()
}

/// The executor runs the queue; action `id` must fail, saying `why`.
async fn fails_with(env: &EngineEnv, id: &str, why: &str) {
    assert_eq!(env.engine.run_once().await.unwrap(), 1);
    let after = env.engine.get(id).await.unwrap().unwrap();
    assert_eq!(after.state, ActionState::Failed);
    let error = after.error.unwrap_or_default();
    assert!(error.contains(why), "{error}");
}

async fn names(env: &EngineEnv) -> Vec<String> {
    env.engine
        .client()
        .cluster_resources(Some("vm"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_changed_after_approval_does_not_run() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env.propose(clone_av(&inv)).await.unwrap();
    assert_eq!(rec.state, ActionState::PendingApproval);
    env.approve(&rec).await;
    tamper(
        &env,
        "UPDATE actions SET plan_json = replace(plan_json, 'pve-av-02', 'pve-evil-99') WHERE id = ?1",
        &rec.id,
    );
    fails_with(&env, &rec.id, "does not hash to the plan hash").await;
    assert!(!names(&env).await.iter().any(|n| n == "pve-evil-99"));
    assert!(
        audit_events(&env, &rec.id)
            .await
            .contains(&"run_refused".into())
    );
    assert_eq!(env.reserved_count().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_marked_approved_without_an_approval_does_not_run() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env.propose(clone_av(&inv)).await.unwrap();
    tamper(
        &env,
        "UPDATE actions SET state = 'approved' WHERE id = ?1",
        &rec.id,
    );
    fails_with(&env, &rec.id, "needs an approval and none is on record").await;
    assert!(!names(&env).await.iter().any(|n| n == "pve-av-02"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_became_protected_or_changed_is_not_touched() {
    let env = EngineEnv::new(Target::sim().await).await;
    let c = env.engine.client();
    let av = GuestRef::new("pve-node-01", GuestKind::Qemu, 102);

    // Tagged for protection after it was approved.
    let inv = env.inventory().await;
    let rec = env.propose(clone_av(&inv)).await.unwrap();
    env.approve(&rec).await;
    c.set_config(&av, &ConfigChange::default().set("tags", "av;monitoring"))
        .await
        .unwrap();
    fails_with(&env, &rec.id, "self_protection.monitoring-infrastructure").await;

    // Renamed (or its VMID reused by another guest) after it was approved.
    c.set_config(&av, &ConfigChange::default().set("tags", "av"))
        .await
        .unwrap();
    let inv = env.inventory().await;
    let rec = env.propose(clone_av(&inv)).await.unwrap();
    env.approve(&rec).await;
    c.set_config(&av, &ConfigChange::default().set("name", "pve-other-01"))
        .await
        .unwrap();
    fails_with(&env, &rec.id, "VMID 102 is now pve-other-01").await;
    assert!(!names(&env).await.iter().any(|n| n == "pve-av-02"));
}

/// F4: a snapshot and a rollback of one VM, both approved, run one after
/// the other (the second says what it waits for); tasks take scaled real
/// time, so they would overlap and one would fail on Proxmox's lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_actions_on_one_guest_run_one_after_the_other() {
    let env = EngineEnv::new(Target::sim_with(Scenario::seed(), 0.2).await).await;
    let inv = env.inventory().await;
    let av = EngineEnv::sel(&inv, "pve-av-01");
    let first = env
        .run_action_later(Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: av.clone(),
            name: Some("serial-a".into()),
            description: None,
            vmstate: false,
        }))
        .await;
    let second = env
        .run_action_later(Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: av,
            snapshot: "pre-upgrade".into(),
            start: false,
        }))
        .await;
    let engine = env.engine.clone();
    let runner = tokio::spawn(async move { engine.run_once().await });
    // Whichever the executor takes first, the other waits for it, and says so.
    let mut saw_wait = None;
    'poll: for _ in 0..400 {
        for (me, other) in [(&first, &second), (&second, &first)] {
            let rec = env.engine.get(me).await.unwrap().unwrap();
            if let Some(w) = rec.waiting {
                saw_wait = Some((w, other.clone()));
                break 'poll;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (note, other) = saw_wait.expect("one action waited for the other");
    assert_eq!(note, format!("waiting for {other} on pve-av-01"));
    assert_eq!(runner.await.unwrap().unwrap(), 2);
    for id in [&first, &second] {
        let rec = env.engine.get(id).await.unwrap().unwrap();
        assert_eq!(rec.state, ActionState::Succeeded, "{id}: {:?}", rec.error);
    }
}

/// F3: a rollback to a snapshot the guest does not have is refused when planning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_to_a_missing_snapshot_is_refused_when_planning() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let err = env
        .engine
        .propose(
            Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
                guest: EngineEnv::sel(&inv, "pve-av-01"),
                snapshot: "nonexist".into(),
                start: false,
            }),
            me(),
            None,
            &inv,
        )
        .await;
    assert!(
        matches!(&err, Err(EngineError::NotPossible(m)) if m.contains("has no snapshot nonexist")),
        "{err:?}"
    );
}
