//! What a refresh costs the cluster, counted by the simulator: two requests
//! (`/cluster/resources`, `/cluster/tasks`) whatever the number of guests
//! when nothing changed, and a snapshot taken behind proxdeck's back seen
//! within two refreshes of the console's reader.

mod common;

use std::time::Duration;

use common::engine_env::EngineEnv;
use common::target::Target;
use proxdeck::config::Config;
use proxdeck::engine::EngineOptions;
use proxdeck::inventory::RefreshOptions;
use proxdeck::pve::GuestRef;
use proxdeck::pve::requests::{ConfigChange, SnapshotOptions};
use proxdeck::pve::types::GuestKind;
use proxdeck::sim::scenario::Scenario;
use proxdeck::tui::msg::Msg;
use proxdeck::tui::refresher::Refresher;
use tokio::sync::mpsc;

/// The sweep (configs re-read over an hour, capped per minute) is time
/// driven: off here so that counts depend on changes only. Its own rule is
/// unit-tested in `inventory::watch`.
fn no_sweep() -> RefreshOptions {
    RefreshOptions {
        sweep_max_per_minute: 0,
        ..RefreshOptions::default()
    }
}

/// An engine on a generated cluster with the naming that fits it.
async fn generated(nodes: u32, guests: u32) -> EngineEnv {
    let target = Target::sim_with(Scenario::generated(nodes, guests, 7), 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    target
        .sim_handle()
        .unwrap()
        .write_config(dir.path())
        .unwrap();
    let mut cfg = Config::load(dir.path()).unwrap();
    cfg.clusters = common::engine_env::config_for(&target).clusters;
    EngineEnv::with_config(
        target,
        cfg,
        EngineOptions {
            wait: common::engine_env::fast_wait(),
            ..Default::default()
        },
    )
}

fn requests(env: &EngineEnv) -> u64 {
    env.target.sim_handle().unwrap().request_count()
}

/// Requests each of `rounds` steady refreshes cost, after a first full read.
async fn steady_cost(env: &EngineEnv, rounds: usize) -> Vec<u64> {
    let o = no_sweep();
    let first = env.engine.refresh_inventory_with(None, &o).await.unwrap();
    assert_eq!(
        first.inventory.configs_loading, 0,
        "the first read is whole"
    );
    let mut previous = first.inventory;
    let mut costs = Vec::new();
    for _ in 0..rounds {
        let before = requests(env);
        let read = env
            .engine
            .refresh_inventory_with(Some(&previous), &o)
            .await
            .unwrap();
        costs.push(requests(env) - before);
        assert_eq!(read.stats.api_calls as u64, costs[costs.len() - 1]);
        previous = read.inventory;
    }
    costs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_costs_the_same_at_30_and_at_3000_guests() {
    let small = generated(3, 30).await;
    let large = generated(20, 3000).await;
    let small_costs = steady_cost(&small, 3).await;
    let large_costs = steady_cost(&large, 3).await;
    assert_eq!(small_costs, vec![2, 2, 2], "resources and tasks only");
    assert_eq!(large_costs, small_costs, "independent of the guest count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_guest_costs_one_config_read() {
    let env = generated(3, 30).await;
    let o = no_sweep();
    let first = env.engine.refresh_inventory_with(None, &o).await.unwrap();
    let g = first
        .inventory
        .guests
        .iter()
        .find(|g| g.kind == GuestKind::Qemu && !g.template)
        .unwrap()
        .clone();
    // Renamed behind proxdeck's back: its resource entry changes.
    let guest = GuestRef::new(&g.node, g.kind, g.vmid);
    env.engine
        .client()
        .set_config(&guest, &ConfigChange::default().set("name", "pve-app-999"))
        .await
        .unwrap();
    let before = requests(&env);
    let read = env
        .engine
        .refresh_inventory_with(Some(&first.inventory), &o)
        .await
        .unwrap();
    let cost = requests(&env) - before;
    assert_eq!(
        read.stats.configs_read, 1,
        "only the changed guest's config"
    );
    assert_eq!(cost, 3, "resources, tasks and one config");
}

/// Wait for the next message of one kind from the console's reader.
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<Msg>, pick: impl Fn(Msg) -> Option<T>) -> T {
    let wait = async {
        loop {
            let m = rx.recv().await.expect("the reader runs");
            if let Some(t) = pick(m) {
                return t;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("a message within a minute")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reader_stays_at_two_requests_and_sees_an_outside_snapshot() {
    let env = generated(20, 3000).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    // A long period: rounds run when asked, so each is counted alone.
    let reader = Refresher::spawn_with(
        env.engine.clone(),
        tx,
        Duration::from_secs(3600),
        no_sweep(),
    );
    // The first answer carries the tree before any config is read.
    let first = next(&mut rx, |m| match m {
        Msg::Inventory(Ok(r), _) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!(first.inventory.guests.len(), 3000);
    assert_eq!(
        first.inventory.configs_loading, 3000,
        "no config waited for"
    );
    assert_eq!(first.stats.api_calls, 2);
    // Then batches, back to back, until every config is known.
    loop {
        let r = next(&mut rx, |m| match m {
            Msg::Inventory(Ok(r), _) => Some(r),
            _ => None,
        })
        .await;
        if r.inventory.configs_loading == 0 {
            break;
        }
    }
    // Steady: each round asked for costs resources and tasks.
    for _ in 0..4 {
        let before = requests(&env);
        reader.refresh();
        let r = next(&mut rx, |m| match m {
            Msg::Inventory(Ok(r), _) => Some(r),
            _ => None,
        })
        .await;
        assert_eq!(requests(&env) - before, 2, "stats: {:?}", r.stats);
    }
    // A snapshot taken directly against the API.
    let inv = reader.latest().unwrap();
    let g = inv.guests.iter().find(|g| !g.template).unwrap().clone();
    let guest = GuestRef::new(&g.node, g.kind, g.vmid);
    let upid = env
        .engine
        .client()
        .create_snapshot(
            &guest,
            &SnapshotOptions {
                snapname: "outside".into(),
                description: None,
                vmstate: None,
            },
        )
        .await
        .unwrap();
    env.engine
        .client()
        .wait_task(&upid, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    // Rounds run one after the other: when the third round's inventory
    // arrives, the first two rounds' snapshot reads have been sent.
    let mut seen = false;
    for _ in 0..3 {
        reader.refresh();
        loop {
            match next(&mut rx, Some).await {
                Msg::Inventory(Ok(_), _) => break,
                Msg::Snapshots(Ok(s), _) => {
                    seen |= s
                        .guests
                        .get(&g.vmid)
                        .is_some_and(|l| l.iter().any(|s| s.name == "outside"));
                }
                _ => {}
            }
        }
    }
    assert!(
        seen,
        "the outside snapshot of {} shows within two refreshes",
        g.vmid
    );
}
