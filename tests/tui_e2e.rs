//! The real binary in a real terminal (tmux): the demo opened, pve-db-01
//! replicated to all nodes through the confirmation and approval dialogs,
//! and the terminal given back on quit, panic, SIGTERM and SIGHUP.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, children};

const LOAD: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(30);

/// The demo (tasks finish at once), then the exit code and whether the
/// terminal is back in cooked mode.
fn demo(env: &str) -> String {
    format!(
        "{env} {} demo --time-scale 0; echo \"exit=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\{{0,1\\}}icanon'; sleep 600",
        common::proxdeck_bin().display()
    )
}

fn loaded(t: &Tmux) {
    t.wait_for("the seed cluster", LOAD, |s| {
        s.contains("pve-db-01") && s.contains("updated")
    });
}

/// After the program ended: main screen again, canonical mode on.
fn assert_restored(t: &Tmux, exit: &str) -> String {
    let s = t.wait_text(&format!("exit={exit}"), STEP);
    assert!(!t.alternate_screen(), "still on the alternate screen:\n{s}");
    let s = t.wait_for("stty output", STEP, |s| {
        s.lines()
            .any(|l| l.trim() == "icanon" || l.trim() == "-icanon")
    });
    assert!(
        s.lines().any(|l| l.trim() == "icanon"),
        "raw mode left on:\n{s}"
    );
    s
}

fn result_line(screen: &str, node: &str, name: &str, ip: &str, mac: &str) -> bool {
    screen.lines().any(|l| {
        let w: Vec<&str> = l
            .trim_matches(|c| c == '│' || c == ' ')
            .split_whitespace()
            .collect();
        w.len() >= 6
            && w[0] == node
            && w[1].parse::<u32>().is_ok()
            && w[2] == name
            && w[3] == ip
            && w[4] == mac
            && w[5] == "success"
    })
}

#[test]
fn replicate_pve_db_01_to_all_nodes_from_the_keyboard() {
    let t = Tmux::start(&demo(""), 160, 48);
    loaded(&t);
    t.keys(&["/"]);
    t.type_text("pve-db-01");
    t.keys(&["Enter"]);
    t.wait_text("filter pve-db-01", STEP);
    t.keys(&["r"]);
    t.wait_text("Replicate pve-db-01", STEP);
    t.keys(&["Enter"]);
    // The confirmation shows the plan the engine will run (polled as a
    // whole: a capture may land between two writes of one frame).
    let plan = [
        "Confirm: replicate pve-db-01 to all nodes",
        "pve-db-02",
        "pve-db-03",
        "192.168.2.101",
        "192.168.3.101",
        "02:00:00:a2:65:01",
        "02:00:00:a3:65:01",
        "clone@pve-node-02",
    ];
    t.wait_for("the plan in the confirmation", STEP, |s| {
        plan.iter().all(|w| s.contains(w))
    });
    t.keys(&["y"]);
    t.wait_for("the plan listed in Approvals", STEP, |s| {
        s.contains("waits for approval") && s.contains("Approvals 1")
    });
    t.keys(&["a"]);
    t.wait_text("Approve: replicate pve-db-01 to all nodes", STEP);
    t.keys(&["y"]);
    t.wait_for(
        "both targets succeeded in the Replication pane",
        STEP,
        |s| {
            s.contains("succeeded")
                && result_line(
                    s,
                    "pve-node-02",
                    "pve-db-02",
                    "192.168.2.101",
                    "02:00:00:a2:65:01",
                )
                && result_line(
                    s,
                    "pve-node-03",
                    "pve-db-03",
                    "192.168.3.101",
                    "02:00:00:a3:65:01",
                )
        },
    );
    // The replicas appear in Resources once the cluster is read again.
    t.keys(&["1"]);
    t.wait_text("Resources", STEP);
    t.keys(&["Escape"]);
    t.wait_for("the replicas in Resources", STEP, |s| {
        s.contains("pve-db-02") && s.contains("pve-db-03")
    });
    t.keys(&["q"]);
    assert_restored(&t, "0");
}

#[test]
fn a_panic_inside_a_pane_gives_the_terminal_back() {
    let t = Tmux::start(
        &demo("PROXDECK_TEST_PANIC_PANE=backups RUST_BACKTRACE=0"),
        120,
        40,
    );
    loaded(&t);
    t.keys(&["3"]);
    assert_restored(&t, "101");
    // The panic message is readable on the main screen.
    t.wait_text("test panic in pane backups", STEP);
}

fn signal_restores(sig: &str) {
    let t = Tmux::start(&demo(""), 100, 30);
    loaded(&t);
    let shell = t.pane_pid();
    let pid = children(shell).into_iter().find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.contains("proxdeck"))
    });
    let pid = pid.expect("the proxdeck process");
    let out = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .output()
        .expect("kill");
    assert!(out.status.success());
    assert_restored(&t, "0");
}

#[test]
fn sigterm_gives_the_terminal_back() {
    signal_restores("-TERM");
}

#[test]
fn sighup_gives_the_terminal_back() {
    signal_restores("-HUP");
}

#[test]
fn narrow_terminals_get_one_column_and_the_help_is_reachable() {
    let t = Tmux::start(&demo(""), 80, 24);
    loaded(&t);
    t.keys(&["?"]);
    t.wait_text("Help", STEP);
    // Escape then a digit at once reads as alt+digit: one at a time.
    t.keys(&["Escape"]);
    t.wait_for("help closed", STEP, |s| !s.contains("Help ·"));
    t.keys(&["4"]);
    t.wait_text("IP map node-01 192.168.1.0/24", STEP);
    t.keys(&["q"]);
    assert_restored(&t, "0");
}
