//! Proxmox's prune rules, as `pvesm prune-backups` applies them: backups
//! are grouped by guest type and VMID (`qemu/100` and `lxc/100` are separate
//! groups), each group newest first; `keep-last` keeps the newest N (by
//! creation second: a second backup in the same second is not kept); each of
//! `keep-hourly`, `-daily`, `-weekly` (ISO weeks), `-monthly`, `-yearly`
//! keeps the newest backup of each of the N most recent periods that no
//! earlier rule already covered; protected backups are never removed and do
//! not count; archives not named the way vzdump names them ("renamed") are
//! never removed; with no rule set, everything is kept.

use std::collections::HashSet;

use jiff::tz::TimeZone;

use crate::config::operations::KeepRules;

/// A backup to decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// Creation time (unix).
    pub ctime: i64,
    pub protected: bool,
    /// The group Proxmox prunes it with (`qemu/100`); None for an archive a
    /// person renamed, which Proxmox never removes.
    pub group: Option<String>,
}

impl Candidate {
    /// A backup as Proxmox's prune sees it: a vzdump archive with its
    /// standard name is grouped by type and VMID and dated by its name (in
    /// the node's zone); a Proxmox Backup Server snapshot (`backup/vm/100/…`)
    /// by its path and listed time; anything else is "renamed".
    pub fn of(volid: &str, listed_ctime: i64, protected: bool, tz: &TimeZone) -> Candidate {
        let name = volid.rsplit(['/', ':']).next().unwrap_or(volid);
        let (group, ctime) = match crate::backup::archive::parse(name) {
            Some(a) if a.is_std_name() => (
                Some(format!("{}/{}", a.guest_type, a.vmid)),
                a.stamp_time(tz).unwrap_or(listed_ctime),
            ),
            Some(_) => (None, listed_ctime),
            None => (pbs_group(volid), listed_ctime),
        };
        Candidate {
            id: volid.to_string(),
            ctime,
            protected,
            group,
        }
    }
}

/// `vm/100` of a Proxmox Backup Server volid (`pbs:backup/vm/100/2026-…Z`).
fn pbs_group(volid: &str) -> Option<String> {
    let path = volid.split_once(':')?.1.strip_prefix("backup/")?;
    let mut parts = path.split('/');
    let (kind, id) = (parts.next()?, parts.next()?);
    (matches!(kind, "vm" | "ct") && id.parse::<u32>().is_ok()).then(|| format!("{kind}/{id}"))
}

/// The decision for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Kept, by the rule named (`keep-last`, `keep-daily`, ..., `keep-all`).
    Keep(&'static str),
    Protected,
    /// Not vzdump's own name: left alone.
    Renamed,
    Remove,
}

impl Mark {
    pub fn label(&self) -> String {
        match self {
            Mark::Keep(r) => (*r).to_string(),
            Mark::Protected => "protected".into(),
            Mark::Renamed => "renamed".into(),
            Mark::Remove => "remove".into(),
        }
    }
}

/// A period key of a backup's time, in the zone the node keeps its clock in.
type PeriodOf = fn(&jiff::civil::DateTime) -> String;

fn hour(d: &jiff::civil::DateTime) -> String {
    format!("{}/{}/{}/{}", d.year(), d.month(), d.day(), d.hour())
}

fn day(d: &jiff::civil::DateTime) -> String {
    format!("{}/{}/{}", d.year(), d.month(), d.day())
}

fn week(d: &jiff::civil::DateTime) -> String {
    let w = d.date().iso_week_date();
    format!("{}/{}", w.year(), w.week())
}

fn month(d: &jiff::civil::DateTime) -> String {
    format!("{}/{}", d.year(), d.month())
}

fn year(d: &jiff::civil::DateTime) -> String {
    d.year().to_string()
}

/// One rule over the list (newest first), marking what it keeps.
fn apply(
    list: &[Candidate],
    marks: &mut [Option<Mark>],
    rule: (u32, &'static str, Option<PeriodOf>),
    tz: &TimeZone,
) {
    let (count, rule, period) = rule;
    if count == 0 {
        return;
    }
    let id = |c: &Candidate| match period {
        Some(f) => f(&crate::timefmt::in_zone(c.ctime, tz).datetime()),
        None => c.ctime.to_string(),
    };
    // Periods an earlier rule already keeps a backup of.
    let covered: HashSet<String> = list
        .iter()
        .zip(marks.iter())
        .filter(|(_, m)| matches!(m, Some(Mark::Keep(_))))
        .map(|(c, _)| id(c))
        .collect();
    let mut new: HashSet<String> = HashSet::new();
    for (c, m) in list.iter().zip(marks.iter_mut()) {
        if m.is_some() {
            continue;
        }
        let p = id(c);
        if covered.contains(&p) {
            continue;
        }
        if new.contains(&p) {
            *m = Some(Mark::Remove);
        } else {
            if new.len() >= count as usize {
                break;
            }
            new.insert(p);
            *m = Some(Mark::Keep(rule));
        }
    }
}

/// Decide every backup; the result is newest first. Each group is decided
/// on its own. Periods (hour, day, ISO week, month, year) are those of `tz`,
/// the zone of the node that prunes, as Proxmox buckets them in the node's
/// local time.
pub fn mark(backups: &[Candidate], keep: &KeepRules, tz: &TimeZone) -> Vec<(Candidate, Mark)> {
    let mut out: Vec<(Candidate, Mark)> = Vec::with_capacity(backups.len());
    let mut groups: Vec<&str> = backups.iter().filter_map(|c| c.group.as_deref()).collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let members: Vec<Candidate> = backups
            .iter()
            .filter(|c| c.group.as_deref() == Some(g))
            .cloned()
            .collect();
        out.extend(mark_group(members, keep, tz));
    }
    out.extend(backups.iter().filter(|c| c.group.is_none()).map(|c| {
        let m = if c.protected {
            Mark::Protected
        } else {
            Mark::Renamed
        };
        (c.clone(), m)
    }));
    out.sort_by(|(a, _), (b, _)| b.ctime.cmp(&a.ctime).then_with(|| b.id.cmp(&a.id)));
    out
}

/// Decide one group's backups, newest first.
fn mark_group(mut list: Vec<Candidate>, keep: &KeepRules, tz: &TimeZone) -> Vec<(Candidate, Mark)> {
    list.sort_by(|a, b| b.ctime.cmp(&a.ctime).then_with(|| b.id.cmp(&a.id)));
    let mut marks: Vec<Option<Mark>> = list
        .iter()
        .map(|c| c.protected.then_some(Mark::Protected))
        .collect();
    if keep.is_empty() {
        for m in marks.iter_mut() {
            m.get_or_insert(Mark::Keep("keep-all"));
        }
    } else {
        let rules: [(u32, &'static str, Option<PeriodOf>); 6] = [
            (keep.last, "keep-last", None),
            (keep.hourly, "keep-hourly", Some(hour)),
            (keep.daily, "keep-daily", Some(day)),
            (keep.weekly, "keep-weekly", Some(week)),
            (keep.monthly, "keep-monthly", Some(month)),
            (keep.yearly, "keep-yearly", Some(year)),
        ];
        for rule in rules {
            apply(&list, &mut marks, rule, tz);
        }
    }
    list.into_iter()
        .zip(marks)
        .map(|(c, m)| (c, m.unwrap_or(Mark::Remove)))
        .collect()
}
