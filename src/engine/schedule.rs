//! Scheduled work from `action-policies.yml`: backups (create → verify →
//! sync → prune) and guest snapshots (keep N), proposed by the executor
//! through the same policy as everything else. Each schedule's period is
//! claimed in the database first, so two executors never start it twice.

use crate::engine::{CreateBackup, CreateGuestSnapshot, DeleteGuestSnapshot};
use std::collections::HashSet;

use jiff::tz::TimeZone;
use rusqlite::params;

use super::action::{Action, Actor, GuestSel};
use super::core::Engine;
use super::error::EngineError;
use crate::config::operations::{Every, GuestMatch};
use crate::inventory::{GuestInfo, Inventory};
use crate::policy::glob_match;

/// The period a schedule last fell due in, at `now` in `tz` (the zone its
/// times of day are meant in): its key, or None before the first time of
/// day has come.
pub fn period(every: Every, at: (u8, u8), now: i64, tz: &TimeZone) -> Option<String> {
    let z = crate::timefmt::in_zone(now, tz);
    let today_at = z
        .date()
        .at(i8::try_from(at.0).ok()?, i8::try_from(at.1).ok()?, 0, 0);
    let dt = z.datetime();
    let mut day = z.date();
    if dt < today_at {
        day = day.yesterday().ok()?;
    }
    match every {
        Every::Daily => Some(day.to_string()),
        Every::Weekly(wd) => {
            // The last `wd` at or before `day`.
            let back =
                (i64::from(day.weekday().to_monday_zero_offset()) - i64::from(wd)).rem_euclid(7);
            let d = day.checked_sub(jiff::Span::new().days(back)).ok()?;
            Some(format!("week of {d}"))
        }
    }
}

/// Guests a schedule covers.
pub fn matching<'a>(inv: &'a Inventory, m: &GuestMatch) -> Vec<&'a GuestInfo> {
    inv.guests
        .iter()
        .filter(|g| !g.template)
        .filter(|g| {
            m.names.iter().any(|p| glob_match(p, &g.name))
                || m.tags
                    .iter()
                    .any(|t| g.tags.iter().any(|gt| gt.eq_ignore_ascii_case(t)))
        })
        .collect()
}

impl Engine {
    /// Claim a schedule's period; false when another executor already has.
    async fn claim_period(&self, schedule: &str, period: &str) -> Result<bool, EngineError> {
        let (s, p) = (schedule.to_string(), period.to_string());
        self.write(move |tx, inner| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO schedule_runs (cluster, schedule, period, started_at) VALUES (?1, ?2, ?3, ?4)",
                params![inner.cluster, s, p, crate::store::now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Which schedules are due now and not yet claimed.
    pub async fn due_schedules(&self, now: i64) -> Result<Vec<String>, EngineError> {
        let ops = &self.config().policies.ops;
        let all: Vec<(String, Option<String>)> = ops
            .backup_schedules
            .iter()
            .map(|b| {
                (
                    b.name.clone(),
                    period(b.every, b.at, now, &TimeZone::system()),
                )
            })
            .chain(ops.snapshot_schedules.iter().map(|s| {
                (
                    s.name.clone(),
                    period(s.every, s.at, now, &TimeZone::system()),
                )
            }))
            .collect();
        let claimed: HashSet<(String, String)> = self
            .read(|c, inner| {
                let mut st =
                    c.prepare("SELECT schedule, period FROM schedule_runs WHERE cluster = ?1")?;
                let rows = st
                    .query_map([&inner.cluster], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(all
            .into_iter()
            .filter_map(|(n, p)| {
                p.filter(|p| !claimed.contains(&(n.clone(), p.clone())))
                    .map(|_| n)
            })
            .collect())
    }

    /// Propose the work of every due schedule; returns the actions queued.
    pub async fn run_schedules(
        &self,
        inv: &Inventory,
        now: i64,
    ) -> Result<Vec<String>, EngineError> {
        let ops = self.config().policies.ops.clone();
        let mut queued = Vec::new();
        for b in &ops.backup_schedules {
            let Some(p) = period(b.every, b.at, now, &TimeZone::system()) else {
                continue;
            };
            if !self.claim_period(&b.name, &p).await? {
                continue;
            }
            for g in matching(inv, &b.guests) {
                let action = Action::CreateBackup(CreateBackup {
                    guest: GuestSel::of(g),
                    storage: b.storage.clone(),
                    mode: b.mode.clone(),
                    compress: b.compress.clone(),
                    notes: Some(format!("{{{{guestname}}}} scheduled by {}", b.name)),
                    verify: b.verify,
                    sync: b.sync,
                    prune: b.prune,
                });
                queued.extend(self.propose_scheduled(&b.name, action, inv).await);
            }
        }
        for s in &ops.snapshot_schedules {
            let Some(p) = period(s.every, s.at, now, &TimeZone::system()) else {
                continue;
            };
            if !self.claim_period(&s.name, &p).await? {
                continue;
            }
            let prefix = format!(
                "sched-{}-",
                s.name.replace(|c: char| !c.is_ascii_alphanumeric(), "")
            );
            for g in matching(inv, &s.guests) {
                let name = format!(
                    "{prefix}{}",
                    crate::timefmt::format_local(now, "%Y%m%d%H%M")
                );
                let action = Action::CreateGuestSnapshot(CreateGuestSnapshot {
                    guest: GuestSel::of(g),
                    name: Some(name.chars().take(40).collect()),
                    description: Some(format!("scheduled by {}", s.name)),
                    vmstate: false,
                });
                queued.extend(self.propose_scheduled(&s.name, action, inv).await);
                // Older scheduled snapshots beyond `keep` go, by retention.
                let snaps = self
                    .client()
                    .snapshots(&crate::pve::GuestRef::new(&g.node, g.kind, g.vmid))
                    .await
                    .unwrap_or_default();
                let mut ours: Vec<_> = snaps
                    .into_iter()
                    .filter(|x| x.name.starts_with(&prefix))
                    .collect();
                ours.sort_by_key(|x| std::cmp::Reverse(x.snaptime.unwrap_or(0)));
                for old in ours.iter().skip(s.keep.saturating_sub(1) as usize) {
                    let action = Action::DeleteGuestSnapshot(DeleteGuestSnapshot {
                        guest: GuestSel::of(g),
                        snapshot: old.name.clone(),
                        by_retention: true,
                    });
                    queued.extend(self.propose_scheduled(&s.name, action, inv).await);
                }
            }
        }
        Ok(queued)
    }

    async fn propose_scheduled(
        &self,
        schedule: &str,
        action: Action,
        inv: &Inventory,
    ) -> Option<String> {
        let actor = Actor::policy(&format!("schedule:{schedule}"));
        let what = action.describe();
        match self
            .propose(action, actor, Some(format!("schedule {schedule}")), inv)
            .await
        {
            Ok(rec) => Some(rec.id),
            Err(e) => {
                tracing::warn!(schedule, action = %what, error = %e, "scheduled work not queued");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        // The times in these tests are UTC, and so is the zone they are read in.
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", s)
            .expect("time")
            .to_zoned_datetime(TimeZone::UTC)
            .expect("zoned")
            .timestamp()
            .as_second()
    }

    #[test]
    fn periods() {
        assert_eq!(
            period(Every::Daily, (2, 0), at("2026-11-25 03:00"), &TimeZone::UTC).as_deref(),
            Some("2026-11-25")
        );
        assert_eq!(
            period(Every::Daily, (2, 0), at("2026-11-25 01:59"), &TimeZone::UTC).as_deref(),
            Some("2026-11-24")
        );
        // 2026-11-25 is a Wednesday; weekly on Sunday (6) at 02:00.
        assert_eq!(
            period(
                Every::Weekly(6),
                (2, 0),
                at("2026-11-25 12:00"),
                &TimeZone::UTC
            )
            .as_deref(),
            Some("week of 2026-11-22")
        );
        assert_eq!(
            period(
                Every::Weekly(2),
                (2, 0),
                at("2026-11-25 12:00"),
                &TimeZone::UTC
            )
            .as_deref(),
            Some("week of 2026-11-25")
        );
        assert_eq!(
            period(
                Every::Weekly(2),
                (2, 0),
                at("2026-11-25 01:00"),
                &TimeZone::UTC
            )
            .as_deref(),
            Some("week of 2026-11-18")
        );
    }
}
