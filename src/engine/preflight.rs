//! What the executor checks before it runs an action, trusting nothing in
//! the queue it did not check itself: the stored plan is the one whose hash
//! was approved, an approval of that hash is on record when policy needs
//! one (by someone else than the proposer when the four-eyes rule is on),
//! and the policy still allows the action against the guests as they are
//! in the cluster now (renamed, retagged, moved, or a VMID reused since
//! the plan was made).

use rusqlite::{Connection, OptionalExtension, params};

use super::action::GuestSel;
use super::core::Engine;
use super::error::EngineError;
use super::journal;
use super::queue::ActionRecord;
use crate::policy::{Verdict, protection};

/// An approval on record.
struct Approval {
    by: String,
    plan_hash: String,
}

/// The latest approval of an action, if any.
fn approval_of(c: &Connection, id: &str) -> Result<Option<Approval>, EngineError> {
    Ok(c
        .query_row(
            "SELECT decided_by, plan_hash FROM approvals WHERE action_id = ?1 AND decision = 'approved' ORDER BY id DESC LIMIT 1",
            params![id],
            |r| {
                Ok(Approval {
                    by: r.get(0)?,
                    plan_hash: r.get(1)?,
                })
            },
        )
        .optional()?)
}

impl Engine {
    /// Refuse to run `rec` unless everything above holds. The guests are
    /// compared with the cluster only before the first step: once the
    /// workflow has begun, it changes them itself.
    pub(in crate::engine) async fn preflight(&self, rec: &ActionRecord) -> Result<(), EngineError> {
        let plan = rec
            .plan
            .as_ref()
            .ok_or_else(|| EngineError::Unapproved("the action has no plan".into()))?;
        let stored = rec.plan_hash.clone().unwrap_or_default();
        if plan.hash() != stored {
            return Err(EngineError::Unapproved(format!(
                "its plan does not hash to the plan hash it was queued with ({stored}): the plan was changed after it was decided"
            )));
        }
        let verdict = self.policy().evaluate_for(&rec.action, &rec.proposed_by);
        if let Verdict::Reject { rule, reason } = &verdict {
            return Err(EngineError::Policy {
                rule: rule.clone(),
                reason: reason.clone(),
            });
        }
        let id = rec.id.clone();
        let (approval, started) = self
            .read(move |c, _| {
                let started = journal::steps(c, &id)?
                    .iter()
                    .any(|s| s.started_at.is_some());
                Ok((approval_of(c, &id)?, started))
            })
            .await?;
        if let Verdict::NeedsApproval { rule } = &verdict {
            let Some(a) = approval else {
                return Err(EngineError::Unapproved(format!(
                    "policy ({rule}) needs an approval and none is on record"
                )));
            };
            if a.plan_hash != stored {
                return Err(EngineError::Unapproved(format!(
                    "the approval on record is for plan {}, not the plan queued ({stored})",
                    a.plan_hash
                )));
            }
            if self.config().policies.require_distinct_approver
                && crate::actor::same_person(&a.by, &rec.proposed_by.who)
            {
                return Err(EngineError::SameApprover(a.by));
            }
        }
        if !started {
            self.guests_still_match(rec).await?;
        }
        Ok(())
    }

    /// The action's guests are still the ones the plan was made for, and
    /// the policy protects none of them as they are now.
    async fn guests_still_match(&self, rec: &ActionRecord) -> Result<(), EngineError> {
        let guests = rec.action.guests();
        if guests.is_empty() {
            return Ok(());
        }
        let live = self.client().cluster_resources(Some("vm")).await?;
        for g in guests {
            let Some(r) = live.iter().find(|r| r.vmid == Some(g.vmid)) else {
                return Err(EngineError::NotPossible(format!(
                    "{g} is not in the cluster any more: plan again"
                )));
            };
            let now = GuestSel {
                vmid: g.vmid,
                name: r.name.clone().unwrap_or_default(),
                node: r.node.clone().unwrap_or_default(),
                kind: crate::pve::GuestKind::parse(&r.kind).unwrap_or(g.kind),
                tags: r.tag_list(),
                template: r.template,
            };
            if now.name != g.name || now.kind != g.kind {
                return Err(EngineError::NotPossible(format!(
                    "VMID {} is now {} (a {}) on {}, not the {} the plan was made for: plan again",
                    g.vmid,
                    now.name,
                    now.kind.noun(),
                    now.node,
                    g.name
                )));
            }
            if now.node != g.node {
                return Err(EngineError::NotPossible(format!(
                    "{} moved from {} to {} since it was planned: plan again",
                    g.name, g.node, now.node
                )));
            }
            if let Some((rule, why)) = protection(&self.config().policies, &now) {
                return Err(EngineError::Policy {
                    rule: format!("self_protection.{}", rule.name),
                    reason: format!("{now} is protected by rule '{}' now: {why}", rule.name),
                });
            }
        }
        Ok(())
    }
}
