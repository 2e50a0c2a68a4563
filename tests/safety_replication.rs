//! One replica per source and node (F12, F13 of the reliability review):
//! two executors proposing at the same moment make one replication, and a
//! second database (another admin's, a fresh one) sees the replicas already
//! in the cluster instead of planning `pve-db-04`.

mod common;

use common::engine_env::{EngineEnv, config_for, fast_wait, me};
use common::target::Target;
use proxdeck::engine::{
    Action, ActionState, Engine, EngineError, EngineOptions, Replicate, Targets,
};
use proxdeck::pve::PveClient;
use proxdeck::store::Store;

/// A second engine on the same cluster, with its own database file.
fn engine_with_db(target: &Target, db: &std::path::Path) -> Engine {
    let cfg = config_for(target);
    let client = PveClient::with_options(&cfg.clusters[0], Target::quick_options()).unwrap();
    let name = cfg.clusters[0].name.clone();
    Engine::new(
        cfg,
        &name,
        client,
        Store::open(db).unwrap(),
        EngineOptions {
            wait: fast_wait(),
            ..Default::default()
        },
        None,
    )
}

async fn replica_names(target: &Target) -> Vec<String> {
    let mut n: Vec<String> = target
        .client()
        .cluster_resources(Some("vm"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.name)
        .filter(|n| n.starts_with("pve-db-") && n != "pve-db-01")
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_proposing_at_once_make_one_replication() {
    let env = EngineEnv::new(Target::sim().await).await;
    // A second process on the same database file.
    let other = engine_with_db(&env.target, &env.db);
    let inv = env.inventory().await;
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            env.engine.propose_missing_replicas(&inv),
            other.propose_missing_replicas(&inv)
        );
        a.unwrap();
        b.unwrap();
    }
    let open: Vec<_> = env
        .engine
        .list(vec![ActionState::PendingApproval, ActionState::Approved])
        .await
        .unwrap()
        .into_iter()
        .filter(|r| matches!(&r.action, Action::Replicate(rep) if rep.source.vmid == 101))
        .collect();
    assert_eq!(open.len(), 1, "{open:#?}");
    // A manual plan for the same nodes finds them under way.
    let manual = env
        .propose(Action::Replicate(Replicate {
            source: EngineEnv::sel(&inv, "pve-db-01"),
            targets: Targets::All,
            start: false,
        }))
        .await;
    assert!(
        matches!(&manual, Err(EngineError::NothingToDo(m)) if m.contains("already being replicated")),
        "{manual:?}"
    );
    env.approve(&open[0]).await;
    let (a, b) = tokio::join!(env.engine.run_once(), other.run_once());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(
        replica_names(&env.target).await,
        vec!["pve-db-02", "pve-db-03"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_database_sees_the_replicas_in_the_cluster() {
    let env = EngineEnv::new(Target::sim().await).await;
    let rec = env
        .run_action(Action::Replicate(Replicate {
            source: EngineEnv::sel(&env.inventory().await, "pve-db-01"),
            targets: Targets::All,
            start: false,
        }))
        .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);

    // Another admin's proxdeck, with a database of its own that knows nothing.
    let dir = tempfile::tempdir().unwrap();
    let fresh = engine_with_db(&env.target, &dir.path().join("fresh.db"));
    let inv = fresh.refresh_inventory(None).await.unwrap().inventory;
    let again = fresh
        .propose(
            Action::Replicate(Replicate {
                source: EngineEnv::sel(&inv, "pve-db-01"),
                targets: Targets::All,
                start: false,
            }),
            me(),
            None,
            &inv,
        )
        .await;
    assert!(
        matches!(&again, Err(EngineError::NothingToDo(m)) if m.contains("already has a replica")),
        "{again:?}"
    );
    let auto = fresh.propose_missing_replicas(&inv).await.unwrap();
    assert!(
        auto.iter()
            .all(|r| !matches!(&r.action, Action::Replicate(rep) if rep.source.vmid == 101)),
        "{auto:#?}"
    );
    assert_eq!(
        replica_names(&env.target).await,
        vec!["pve-db-02", "pve-db-03"]
    );
}
