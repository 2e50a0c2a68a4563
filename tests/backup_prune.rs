//! Proxmox's prune rules, table by table: each rule alone and combined,
//! protected backups, several backups on one day, and ISO week boundaries.

use proxdeck::backup::prune::{Candidate, Mark, mark};
use proxdeck::config::operations::KeepRules;

/// Backups at these UTC times ("YYYY-MM-DD HH:MM"); ids are the times.
fn at(times: &[&str]) -> Vec<Candidate> {
    times
        .iter()
        .map(|t| Candidate {
            id: t.to_string(),
            ctime: jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", t)
                .expect("time")
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .expect("utc")
                .timestamp()
                .as_second(),
            protected: false,
            group: Some("qemu/100".into()),
        })
        .collect()
}

/// (id, label) newest first.
fn run(list: &[Candidate], k: KeepRules) -> Vec<(String, String)> {
    mark(list, &k, &jiff::tz::TimeZone::UTC)
        .into_iter()
        .map(|(c, m)| (c.id, m.label()))
        .collect()
}

fn keep(last: u32, hourly: u32, daily: u32, weekly: u32, monthly: u32, yearly: u32) -> KeepRules {
    KeepRules {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
    }
}

#[test]
fn no_rule_keeps_everything() {
    let l = at(&["2026-01-01 00:00", "2026-01-02 00:00"]);
    assert!(
        run(&l, KeepRules::default())
            .iter()
            .all(|(_, m)| m == "keep-all")
    );
}

#[test]
fn keep_last_alone() {
    let l = at(&[
        "2026-01-01 00:00",
        "2026-01-02 00:00",
        "2026-01-03 00:00",
        "2026-01-04 00:00",
    ]);
    assert_eq!(
        run(&l, keep(2, 0, 0, 0, 0, 0)),
        vec![
            ("2026-01-04 00:00".into(), "keep-last".into()),
            ("2026-01-03 00:00".into(), "keep-last".into()),
            ("2026-01-02 00:00".into(), "remove".into()),
            ("2026-01-01 00:00".into(), "remove".into()),
        ]
    );
}

#[test]
fn keep_daily_keeps_the_newest_of_each_day() {
    let l = at(&[
        "2026-01-03 20:00",
        "2026-01-03 08:00",
        "2026-01-02 23:59",
        "2026-01-02 00:01",
        "2026-01-01 12:00",
    ]);
    assert_eq!(
        run(&l, keep(0, 0, 2, 0, 0, 0)),
        vec![
            ("2026-01-03 20:00".into(), "keep-daily".into()),
            ("2026-01-03 08:00".into(), "remove".into()),
            ("2026-01-02 23:59".into(), "keep-daily".into()),
            ("2026-01-02 00:01".into(), "remove".into()),
            ("2026-01-01 12:00".into(), "remove".into()),
        ]
    );
}

#[test]
fn keep_hourly_and_ties_in_one_hour() {
    let l = at(&["2026-01-01 10:50", "2026-01-01 10:10", "2026-01-01 09:59"]);
    assert_eq!(
        run(&l, keep(0, 5, 0, 0, 0, 0)),
        vec![
            ("2026-01-01 10:50".into(), "keep-hourly".into()),
            ("2026-01-01 10:10".into(), "remove".into()),
            ("2026-01-01 09:59".into(), "keep-hourly".into()),
        ]
    );
}

#[test]
fn weeks_are_iso_weeks() {
    // 2026-01-04 is a Sunday (ISO week 1 of 2026); 2026-01-05 a Monday (week 2).
    // 2025-12-29 (Monday) is in ISO week 1 of 2026 too.
    let l = at(&[
        "2026-01-05 01:00",
        "2026-01-04 23:00",
        "2025-12-29 01:00",
        "2025-12-28 12:00",
    ]);
    assert_eq!(
        run(&l, keep(0, 0, 0, 3, 0, 0)),
        vec![
            ("2026-01-05 01:00".into(), "keep-weekly".into()),
            ("2026-01-04 23:00".into(), "keep-weekly".into()),
            ("2025-12-29 01:00".into(), "remove".into()),
            ("2025-12-28 12:00".into(), "keep-weekly".into()),
        ]
    );
}

#[test]
fn monthly_and_yearly() {
    let l = at(&[
        "2026-03-01 00:00",
        "2026-02-15 00:00",
        "2026-02-01 00:00",
        "2025-12-31 00:00",
        "2024-06-01 00:00",
    ]);
    assert_eq!(
        run(&l, keep(0, 0, 0, 0, 2, 2)),
        vec![
            ("2026-03-01 00:00".into(), "keep-monthly".into()),
            ("2026-02-15 00:00".into(), "keep-monthly".into()),
            ("2026-02-01 00:00".into(), "remove".into()),
            // 2026 is covered by the monthly keeps; the yearly rule takes 2025 and 2024.
            ("2025-12-31 00:00".into(), "keep-yearly".into()),
            ("2024-06-01 00:00".into(), "keep-yearly".into()),
        ]
    );
}

#[test]
fn rules_combine_and_later_rules_skip_covered_periods() {
    let l = at(&[
        "2026-01-10 02:00",
        "2026-01-09 02:00",
        "2026-01-08 02:00",
        "2026-01-07 02:00",
        "2026-01-01 02:00",
        "2025-12-20 02:00",
    ]);
    // keep-last 1 takes the 10th; keep-daily 2 the 9th and 8th (the 10th's day is
    // covered); keep-weekly 2 skips weeks already kept (week 2: 7th-11th) and takes
    // week 1 (the 1st) and week 51 of 2025.
    assert_eq!(
        run(&l, keep(1, 0, 2, 2, 0, 0)),
        vec![
            ("2026-01-10 02:00".into(), "keep-last".into()),
            ("2026-01-09 02:00".into(), "keep-daily".into()),
            ("2026-01-08 02:00".into(), "keep-daily".into()),
            ("2026-01-07 02:00".into(), "remove".into()),
            ("2026-01-01 02:00".into(), "keep-weekly".into()),
            ("2025-12-20 02:00".into(), "keep-weekly".into()),
        ]
    );
}

#[test]
fn protected_backups_stay_and_do_not_count() {
    let mut l = at(&["2026-01-04 00:00", "2026-01-03 00:00", "2026-01-02 00:00"]);
    l[0].protected = true;
    assert_eq!(
        run(&l, keep(1, 0, 0, 0, 0, 0)),
        vec![
            ("2026-01-04 00:00".into(), "protected".into()),
            ("2026-01-03 00:00".into(), "keep-last".into()),
            ("2026-01-02 00:00".into(), "remove".into()),
        ]
    );
    // Everything else marked is Keep or Remove, never left undecided.
    assert!(
        mark(&l, &keep(0, 0, 1, 0, 0, 0), &jiff::tz::TimeZone::UTC)
            .iter()
            .all(|(_, m)| matches!(m, Mark::Keep(_) | Mark::Remove | Mark::Protected))
    );
}

/// Proxmox prunes per type and VMID, never touches a renamed archive, and
/// keeps one backup per creation second under keep-last (Plugin.pm
/// prune_backups, Storage.pm prune_mark_backup_group).
#[test]
fn groups_renamed_archives_and_same_second_backups() {
    let utc = jiff::tz::TimeZone::UTC;
    let list = [
        "nfs:backup/vzdump-lxc-105-2026_01_04-00_00_00.tar.zst",
        "nfs:backup/vzdump-lxc-105-2026_01_03-00_00_00.tar.zst",
        "nfs:backup/vzdump-qemu-105-2026_01_02-00_00_00.vma.zst",
        "nfs:backup/vzdump-lxc-105-keep-this.tar.zst",
    ]
    .iter()
    .map(|v| Candidate::of(v, 0, false, &utc))
    .collect::<Vec<_>>();
    let marks: Vec<(String, String)> = mark(&list, &keep(1, 0, 0, 0, 0, 0), &utc)
        .into_iter()
        .map(|(c, m)| (c.id.rsplit('/').next().unwrap().to_string(), m.label()))
        .collect();
    assert_eq!(
        marks,
        vec![
            (
                "vzdump-lxc-105-2026_01_04-00_00_00.tar.zst".into(),
                "keep-last".into()
            ),
            (
                "vzdump-lxc-105-2026_01_03-00_00_00.tar.zst".into(),
                "remove".into()
            ),
            (
                "vzdump-qemu-105-2026_01_02-00_00_00.vma.zst".into(),
                "keep-last".into()
            ),
            ("vzdump-lxc-105-keep-this.tar.zst".into(), "renamed".into()),
        ]
    );
    // Two archives of one second: keep-last counts the second once.
    let twins: Vec<Candidate> = ["a", "b", "c"]
        .iter()
        .zip([100, 100, 50])
        .map(|(id, t)| Candidate {
            id: id.to_string(),
            ctime: t,
            protected: false,
            group: Some("lxc/1".into()),
        })
        .collect();
    let labels: Vec<String> = mark(&twins, &keep(2, 0, 0, 0, 0, 0), &utc)
        .into_iter()
        .map(|(c, m)| format!("{}={}", c.id, m.label()))
        .collect();
    assert_eq!(labels, vec!["b=keep-last", "a=remove", "c=keep-last"]);
}
