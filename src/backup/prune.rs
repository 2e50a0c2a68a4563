//! Proxmox's prune rules, as `pvesm prune-backups` applies them to the
//! backups of one guest: newest first; `keep-last` keeps the newest N; each
//! of `keep-hourly`, `-daily`, `-weekly` (ISO weeks), `-monthly`, `-yearly`
//! keeps the newest backup of each of the N most recent periods that no
//! earlier rule already covered; protected backups are never removed and do
//! not count; with no rule set, everything is kept.

use std::collections::HashSet;

use crate::config::operations::KeepRules;

/// A backup to decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// Creation time (unix).
    pub ctime: i64,
    pub protected: bool,
}

/// The decision for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Kept, by the rule named (`keep-last`, `keep-daily`, ..., `keep-all`).
    Keep(&'static str),
    Protected,
    Remove,
}

impl Mark {
    pub fn label(&self) -> String {
        match self {
            Mark::Keep(r) => (*r).to_string(),
            Mark::Protected => "protected".into(),
            Mark::Remove => "remove".into(),
        }
    }
}

type PeriodOf = fn(i64) -> String;

fn local(t: i64) -> jiff::civil::DateTime {
    crate::timefmt::local(t).datetime()
}

fn hour(t: i64) -> String {
    let d = local(t);
    format!("{}/{}/{}/{}", d.year(), d.month(), d.day(), d.hour())
}

fn day(t: i64) -> String {
    let d = local(t);
    format!("{}/{}/{}", d.year(), d.month(), d.day())
}

fn week(t: i64) -> String {
    let w = local(t).date().iso_week_date();
    format!("{}/{}", w.year(), w.week())
}

fn month(t: i64) -> String {
    let d = local(t);
    format!("{}/{}", d.year(), d.month())
}

fn year(t: i64) -> String {
    local(t).year().to_string()
}

/// One rule over the list (newest first), marking what it keeps.
fn apply(
    list: &[Candidate],
    marks: &mut [Option<Mark>],
    count: u32,
    rule: &'static str,
    period: Option<PeriodOf>,
) {
    if count == 0 {
        return;
    }
    let id = |c: &Candidate| match period {
        Some(f) => f(c.ctime),
        None => format!("{}#{}", c.ctime, c.id),
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

/// Decide every backup of one guest; the result is newest first.
pub fn mark(backups: &[Candidate], keep: &KeepRules) -> Vec<(Candidate, Mark)> {
    let mut list = backups.to_vec();
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
        apply(&list, &mut marks, keep.last, "keep-last", None);
        apply(&list, &mut marks, keep.hourly, "keep-hourly", Some(hour));
        apply(&list, &mut marks, keep.daily, "keep-daily", Some(day));
        apply(&list, &mut marks, keep.weekly, "keep-weekly", Some(week));
        apply(&list, &mut marks, keep.monthly, "keep-monthly", Some(month));
        apply(&list, &mut marks, keep.yearly, "keep-yearly", Some(year));
    }
    list.into_iter()
        .zip(marks)
        .map(|(c, m)| (c, m.unwrap_or(Mark::Remove)))
        .collect()
}
