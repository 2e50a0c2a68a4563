//! Reading LVM's answers: real `lvs`, `lvconvert` and error outputs captured
//! from the LVM test guest (tests/data/lvm).

mod common;

use proxdeck::host::HostOutput;
use proxdeck::lvm::ops::merge_outcome;
use proxdeck::lvm::{LvKind, MergeOutcome, parse_lvs};

fn sample(name: &str) -> HostOutput {
    let dir = common::repo().join("tests/data/lvm");
    let read =
        |e: &str| std::fs::read_to_string(dir.join(format!("{name}.{e}"))).unwrap_or_default();
    HostOutput {
        code: read("rc").trim().parse().ok(),
        stdout: read("out"),
        stderr: read("err"),
    }
}

#[test]
fn a_snapshot_and_its_origin() {
    let lvs = parse_lvs(&sample("lvs-with-snap").stdout).expect("parse");
    assert_eq!(lvs.len(), 2);
    let root = &lvs[0];
    assert_eq!(
        (root.name.as_str(), root.kind(), root.size_bytes),
        ("root", LvKind::Origin, Some(400 << 20))
    );
    let snap = &lvs[1];
    assert_eq!(
        (snap.kind(), snap.origin.as_deref(), snap.snap_percent),
        (LvKind::Snapshot, Some("root"), Some(0.05))
    );
    assert_eq!(snap.path(), "pve/snap1");
    assert_eq!(snap.state(), "present");
    assert!(snap.created.is_some_and(|t| t > 1_700_000_000));
}

#[test]
fn a_deferred_merge_shows_as_merging() {
    let lvs = parse_lvs(&sample("lvs-merge-pending").stdout).expect("parse");
    let origin = lvs.iter().find(|l| l.name == "root").expect("root");
    assert_eq!(origin.kind(), LvKind::MergingOrigin);
    assert!(origin.is_open(), "the origin is mounted");
    let snap = lvs
        .iter()
        .find(|l| l.name == "snap2")
        .expect("brackets are stripped");
    assert_eq!(snap.kind(), LvKind::MergingSnapshot);
    assert_eq!(snap.state(), "merge_pending");
    let after = parse_lvs(&sample("lvs-after-merge").stdout).expect("parse");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].kind(), LvKind::Other);
}

#[test]
fn an_overflowed_snapshot_is_invalid() {
    let o = sample("27-snap-overflow");
    let lvs = parse_lvs(&o.stdout).expect("parse");
    let tiny = lvs.iter().find(|l| l.name == "tiny").expect("tiny");
    assert!(tiny.is_invalid());
    assert_eq!(tiny.state(), "invalid");
    assert_eq!(tiny.snap_percent, Some(100.0));
    assert!(
        !lvs.iter()
            .find(|l| l.name == "snapA")
            .expect("snapA")
            .is_invalid()
    );
}

#[test]
fn merge_outcomes_in_lvms_words() {
    assert_eq!(
        merge_outcome(&sample("lvconvert-merge-unmounted")),
        Ok(MergeOutcome::Merged)
    );
    assert_eq!(
        merge_outcome(&sample("lvconvert-merge-mounted")),
        Ok(MergeOutcome::Deferred)
    );
    assert_eq!(
        merge_outcome(&sample("28-merge-invalid-snap")),
        Err("Unable to merge invalidated snapshot LV pve/tiny.".into())
    );
    assert_eq!(
        merge_outcome(&sample("lvconvert-merge-nonsnap")),
        Err("pve/root cannot be merged because --trackchanges was not used.".into())
    );
}

#[test]
fn errors_keep_lvms_message() {
    for (name, want) in [
        (
            "lvcreate-snap-dup2",
            "Logical Volume \"snap3\" already exists in volume group \"pve\"",
        ),
        (
            "lvremove-merging-snap",
            "Can't remove merging snapshot logical volume pve/snap2.",
        ),
        (
            "lvremove-missing",
            "Failed to find logical volume \"pve/doesnotexist\"",
        ),
        (
            "26-lvcreate-snap-insufficient",
            "Volume group \"pve\" has insufficient free space (0 extents): 25 required.",
        ),
        (
            "17-lvcreate-snap-of-missing",
            "Snapshot origin LV nope not found in Volume group pve.",
        ),
    ] {
        let o = sample(name);
        assert!(!o.ok(), "{name}");
        assert_eq!(o.message(), want, "{name}");
    }
    // LVM shrinks an oversized snapshot and says so, but succeeds.
    let o = sample("lvcreate-snap-nospace");
    assert!(o.ok());
}

#[test]
fn garbage_is_a_clear_error() {
    let e = parse_lvs("not json").expect_err("refused");
    assert!(e.starts_with("unexpected lvs output"), "{e}");
}
