//! One grammar, two front ends: the same action lines typed after `:` in the
//! console and after `proxdeck plan` on the command line mean the same
//! typed action (and fail with the same words), on the recorded seed cluster.

mod common;

use clap::Parser;
use common::tui::seed_state;
use proxdeck::cli::{Cli, Command};
use proxdeck::engine::grammar::{Resolver, words};
use proxdeck::engine::{Action, EngineError};
use proxdeck::tui::cmdline::{self, Command as ConsoleCommand};
use proxdeck::tui::state::State;

/// Twenty action lines covering every action word, defaults and quoting.
const LINES: &[&str] = &[
    "replicate pve-db-01",
    "replicate pve-db-01 --to all",
    "replicate 101 --to node-02,pve-node-03 --reason 'new nodes'",
    "clone pve-av-01 --to node-03 --role av --start",
    "snapshot pve-av-01 --name pre-fix",
    "snapshot pve-test-01 --description \"before the fix\" --vmstate",
    "rollback pve-av-01 pre-upgrade --start",
    "assign-ip pve-test-01 --ip 192.168.1.210",
    "assign-ip pve-av-01 --mac 02:00:00:a1:66:09 --hostname av-one",
    "delete-snapshot pve-test-01 before-test",
    "delete pve-web-01 --reason 'decommissioned'",
    "backup pve-web-01",
    "backup pve-test-01 --storage local --mode stop --compress gzip --verify --prune",
    "verify vzdump-lxc-105-2026_11_24-20_21_06.tar.zst",
    "restore vzdump-lxc-105-2026_11_25-22_21_08.tar.zst --to node-02",
    "restore --latest-of pve-web-01 --to pve-node-02 --name pve-web-07 --ip 192.168.2.230 --mac auto-generate",
    "prune pve-web-01 --storage nfs-backup",
    "lvm-snapshot node-01 --size 8G --description 'before tinkering'",
    "lvm-merge pve-node-01 pre-upgrade-2026-12-04 --volume pve/root",
    "upgrade pve-node-02 --command 'apt-get -y dist-upgrade'",
];

/// What the console makes of a line.
fn console(s: &State, line: &str) -> Result<(Action, Option<String>), String> {
    match cmdline::parse(s, line).map_err(|e| e.to_string())? {
        ConsoleCommand::Propose { action, reason } => Ok((action, reason)),
        other => Err(format!("not an action: {other:?}")),
    }
}

/// What the command line makes of the same words after `proxdeck plan`.
fn command_line(s: &State, line: &str) -> Result<(Action, Option<String>), String> {
    let mut argv = vec!["proxdeck".to_string(), "plan".to_string()];
    argv.extend(words::split(line)?);
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        EngineError::Invalid(proxdeck::engine::grammar::syntax_message(&e)).to_string()
    })?;
    let Some(Command::Plan(args)) = cli.command else {
        return Err("not a plan".into());
    };
    let resolver = Resolver {
        config: &s.config,
        inventory: s.world.inv(),
        backups: &s.world.backups.data,
    };
    let action = args.action.resolve(&resolver).map_err(|e| e.to_string())?;
    Ok((action, args.opts.reason))
}

#[test]
fn the_console_and_the_cli_read_the_same_twenty_lines_alike() {
    let s = seed_state(160, 48);
    for line in LINES {
        let a = console(&s, line).unwrap_or_else(|e| panic!("console: {line}: {e}"));
        let b = command_line(&s, line).unwrap_or_else(|e| panic!("cli: {line}: {e}"));
        assert_eq!(a, b, "{line}");
    }
    // The defaults the grammar fills in, seen once.
    let (a, reason) = console(&s, LINES[2]).unwrap();
    assert_eq!(reason.as_deref(), Some("new nodes"));
    match a {
        Action::Replicate(r) => assert_eq!(
            r.targets,
            proxdeck::engine::Targets::Nodes(vec!["pve-node-02".into(), "pve-node-03".into()])
        ),
        other => panic!("{other:?}"),
    }
    match console(&s, "backup pve-web-01").unwrap().0 {
        Action::CreateBackup(b) => {
            assert_eq!(
                (b.storage.as_str(), b.mode.as_str(), b.compress.as_str()),
                ("local", "snapshot", "zstd")
            )
        }
        other => panic!("{other:?}"),
    }
    match console(&s, LINES[15]).unwrap().0 {
        Action::RestoreBackup(r) => {
            assert_eq!(
                r.volid, "nfs-backup:backup/vzdump-lxc-105-2026_11_25-22_21_08.tar.zst",
                "the newest backup of pve-web-01"
            );
            assert_eq!(r.target_node, "pve-node-02");
            assert_eq!(r.new_mac, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn both_front_ends_refuse_bad_lines_with_the_same_words() {
    let s = seed_state(160, 48);
    for line in [
        "replicate",
        "replicate pve-db-01 --to node-09",
        "snapshot pve-nope",
        "backup pve-web-01 --mode sideways",
        "restore --to node-02",
        "rollback pve-av-01",
        "assign-ip pve-av-01 --ip 10.0.0.300",
        "clone pve-av-01 --frobnicate",
    ] {
        let a = console(&s, line).expect_err(line);
        let b = command_line(&s, line).expect_err(line);
        assert_eq!(a, b, "{line}");
        assert!(!a.is_empty());
    }
    let e = console(&s, "replicate pve-db-01 --to node-09").unwrap_err();
    assert!(e.contains("unknown node 'node-09'"), "{e}");
    let e = console(&s, "snapshot pve-nope").unwrap_err();
    assert!(e.contains("no guest named or numbered 'pve-nope'"), "{e}");
}
