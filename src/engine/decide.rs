//! Decisions on actions: propose (policy, then a plan with identities
//! reserved), hold a proposal for a confirmation dialog and submit it by the
//! hash shown, approve, reject, cancel.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::action::{Action, Actor};
use super::audit;
use super::core::Engine;
use super::error::EngineError;
use super::events::EngineEvent;
use super::journal;
use super::plan::{PlanContext, PlanFacts, release_all};
use super::queue::{self, ActionRecord, ActionState};
use crate::inventory::Inventory;
use crate::ipam::LiveAddresses;
use crate::policy::{Policy, Verdict};
use crate::store::now;

/// What planning works from, read before the transaction.
struct PlanInputs {
    next_vmid: u32,
    facts: Arc<PlanFacts>,
    inventory: Arc<Inventory>,
    live: Arc<LiveAddresses>,
    taken: HashSet<u32>,
    actor: String,
}

/// The rule recorded when policy lets an action through without approval.
pub const NO_APPROVAL: &str = "no approval required";

fn new_id(action: &Action) -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    format!(
        "{}-{}-{:02x}{:02x}",
        action.id_prefix(),
        crate::timefmt::now_local("%Y%m%d-%H%M%S"),
        b[0],
        b[1]
    )
}

impl Engine {
    fn changed(&self, id: &str, state: ActionState, note: Option<String>) {
        self.emit(EngineEvent::ActionChanged {
            id: id.to_string(),
            state,
            note,
        });
    }

    /// Propose an action: policy first, then the plan (identities reserved),
    /// then the queue in `pending_approval` or `approved`. A policy refusal is
    /// recorded as `rejected` and returned as an error naming the rule.
    pub async fn propose(
        &self,
        action: Action,
        actor: Actor,
        reason: Option<String>,
        inventory: &Inventory,
    ) -> Result<ActionRecord, EngineError> {
        let held = self
            .propose_held(action, actor.clone(), reason, inventory)
            .await?;
        let hash = held.plan_hash.clone().unwrap_or_default();
        self.submit(&held.id, &hash, actor).await
    }

    /// Plan an action and hold it in `proposed`, identities reserved, so a
    /// front end can show the exact plan before anything is queued. `submit`
    /// sends it on; `cancel` drops it and frees what it held.
    pub async fn propose_held(
        &self,
        action: Action,
        actor: Actor,
        reason: Option<String>,
        inventory: &Inventory,
    ) -> Result<ActionRecord, EngineError> {
        let verdict = self.policy().evaluate_for(&action, &actor);
        let id = new_id(&action);
        let kind = action.kind().name().to_string();
        let t = now();
        let base = ActionRecord {
            id: id.clone(),
            cluster: self.cluster().to_string(),
            kind,
            action: action.clone(),
            plan: None,
            plan_hash: None,
            state: ActionState::Rejected,
            proposed_by: actor.clone(),
            reason: reason.clone(),
            policy_rule: None,
            created_at: t,
            updated_at: t,
            lease_owner: None,
            lease_expires: None,
            attempts: 0,
            cancel_requested: false,
            result: None,
            error: None,
            waiting: None,
        };
        if let Verdict::Reject { rule, reason: why } = &verdict {
            let mut rec = base;
            rec.policy_rule = Some(rule.clone());
            rec.error = Some(why.clone());
            self.write(move |tx, _| queue::insert(tx, &rec)).await?;
            self.changed(&id, ActionState::Rejected, Some(rule.clone()));
            return Err(EngineError::Policy {
                rule: rule.clone(),
                reason: why.clone(),
            });
        }
        let creates = matches!(
            action,
            Action::Replicate(_) | Action::CloneGuest(_) | Action::RestoreBackup(_)
        );
        let next_vmid = if creates {
            self.client().next_id().await?
        } else {
            100
        };
        let facts = Arc::new(action.workflow().facts(self).await?);
        let inv = Arc::new(inventory.clone());
        let live = Arc::new(LiveAddresses::from_inventory(&inv));
        let mut taken = HashSet::new();
        // A VMID free in the inventory may be taken by a guest created since:
        // Proxmox has the last word; plan again without it (a few times at most).
        for attempt in 0.. {
            let mut base = base.clone();
            if attempt > 0 {
                base.id = new_id(&action);
            }
            let rec = self
                .plan_held(
                    action.clone(),
                    base,
                    &verdict,
                    PlanInputs {
                        next_vmid,
                        facts: facts.clone(),
                        inventory: inv.clone(),
                        live: live.clone(),
                        taken: taken.clone(),
                        actor: actor.label(),
                    },
                )
                .await?;
            let mut now_taken = Vec::new();
            if creates {
                for t in rec.plan.iter().flat_map(|p| &p.targets) {
                    if !self.client().vmid_free(t.vmid).await? {
                        now_taken.push(t.vmid);
                    }
                }
            }
            if now_taken.is_empty() || attempt >= 3 {
                self.changed(&rec.id, rec.state, rec.policy_rule.clone());
                return Ok(rec);
            }
            tracing::info!(vmids = ?now_taken, "planned VMIDs are taken in the cluster; planning again");
            self.cancel(&rec.id, Actor::policy("vmid_taken")).await?;
            taken.extend(now_taken);
        }
        Err(EngineError::NotPossible("no free VMID".into()))
    }

    /// Plan inside one write transaction and hold the result in `proposed`.
    async fn plan_held(
        &self,
        action: Action,
        base: ActionRecord,
        verdict: &Verdict,
        inputs: PlanInputs,
    ) -> Result<ActionRecord, EngineError> {
        let read_only = self.options().read_only;
        let verdict = verdict.clone();
        let id = base.id.clone();
        self.write(move |tx, inner| {
            let ctx = PlanContext {
                config: &inner.config,
                cluster: &inner.cluster,
                inventory: &inputs.inventory,
                live: &inputs.live,
                next_vmid: inputs.next_vmid,
                actor: &inputs.actor,
                read_only,
                facts: &inputs.facts,
                taken_vmids: &inputs.taken,
            };
            let workflow = action.workflow();
            let plan = workflow.plan(tx, &ctx, &id)?;
            let mut rec = base;
            rec.plan_hash = Some(plan.hash());
            rec.state = ActionState::Proposed;
            rec.plan = Some(plan.clone());
            rec.policy_rule = Some(match &verdict {
                Verdict::NeedsApproval { rule } => rule.clone(),
                _ => NO_APPROVAL.to_string(),
            });
            queue::insert(tx, &rec)?;
            let mut vmids: Vec<u32> = action.guests().iter().map(|g| g.vmid).collect();
            vmids.extend(plan.targets.iter().map(|t| t.vmid));
            queue::set_guests(tx, &inner.cluster, &rec.id, &vmids)?;
            workflow.planned(tx, &inner.cluster, &rec.id, &plan)?;
            journal::ensure_steps(tx, &rec.id, &plan)?;
            Ok(rec)
        })
        .await
    }

    /// Send a held proposal on: the policy is asked again and the plan must
    /// still be the one shown (`shown_hash`); then `pending_approval` or
    /// `approved`.
    pub async fn submit(
        &self,
        id: &str,
        shown_hash: &str,
        actor: Actor,
    ) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let hash = shown_hash.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?
                    .ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                if rec.state != ActionState::Proposed {
                    return Err(EngineError::WrongState {
                        id: id_s.clone(),
                        state: rec.state,
                        what: "only a held proposal can be submitted".into(),
                    });
                }
                if rec.plan_hash.as_deref() != Some(hash.as_str()) {
                    return Err(EngineError::PlanChanged {
                        id: id_s.clone(),
                        now: rec.plan_hash.unwrap_or_default(),
                    });
                }
                let policy = Policy::new(
                    &inner.config.policies,
                    &inner.config.naming,
                    inner.options.read_only,
                );
                let (next, rule) = match policy.evaluate_for(&rec.action, &rec.proposed_by) {
                    Verdict::Reject { rule, reason } => {
                        // The refusal is kept (the write commits) and the reservations freed.
                        queue::transition(
                            tx,
                            &id_s,
                            &[ActionState::Proposed],
                            ActionState::Rejected,
                            "policy",
                            Some(&rule),
                        )?;
                        release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                        rec.action.workflow().dropped(tx, &id_s)?;
                        return Ok(Err(EngineError::Policy { rule, reason }));
                    }
                    Verdict::NeedsApproval { rule } => (ActionState::PendingApproval, rule),
                    Verdict::Allow => (ActionState::Approved, NO_APPROVAL.to_string()),
                };
                queue::set_rule(tx, &id_s, &rule)?;
                audit::append(
                    tx,
                    &actor.label(),
                    "submitted",
                    Some(&id_s),
                    &json!({ "plan_hash": hash }),
                )?;
                queue::transition(
                    tx,
                    &id_s,
                    &[ActionState::Proposed],
                    next,
                    "policy",
                    Some(&rule),
                )
                .map(Ok)
            })
            .await
            .and_then(|r| r);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                if let EngineError::Policy { rule, .. } = &e {
                    self.changed(id, ActionState::Rejected, Some(rule.clone()));
                }
                return Err(e);
            }
        };
        self.changed(&rec.id, rec.state, rec.policy_rule.clone());
        Ok(rec)
    }

    /// Approve the plan that was shown (`shown_hash`). Refused if the plan
    /// changed, the four-eyes rule forbids it, or policy now rejects it.
    pub async fn approve(
        &self,
        id: &str,
        approver: Actor,
        shown_hash: &str,
        reason: Option<String>,
    ) -> Result<ActionRecord, EngineError> {
        let rec = self
            .get(id)
            .await?
            .ok_or_else(|| EngineError::NoSuchAction(id.to_string()))?;
        if rec.state != ActionState::PendingApproval {
            return Err(EngineError::WrongState {
                id: id.into(),
                state: rec.state,
                what: "only pending actions can be approved".into(),
            });
        }
        if rec.plan_hash.as_deref() != Some(shown_hash) {
            return Err(EngineError::PlanChanged {
                id: id.into(),
                now: rec.plan_hash.unwrap_or_default(),
            });
        }
        if self.config().policies.require_distinct_approver
            && crate::actor::same_person(&approver.who, &rec.proposed_by.who)
        {
            return Err(EngineError::SameApprover(approver.who));
        }
        if let Verdict::Reject { rule, reason } =
            self.policy().evaluate_for(&rec.action, &rec.proposed_by)
        {
            return Err(EngineError::Policy { rule, reason });
        }
        let id_s = id.to_string();
        let hash = shown_hash.to_string();
        let rec = self
            .write(move |tx, _| {
                queue::decide(tx, &id_s, true, &approver, &hash, reason.as_deref())?;
                queue::transition(
                    tx,
                    &id_s,
                    &[ActionState::PendingApproval],
                    ActionState::Approved,
                    &approver.label(),
                    reason.as_deref(),
                )
            })
            .await?;
        self.changed(id, ActionState::Approved, None);
        Ok(rec)
    }

    /// Reject a pending action; its reservations are released.
    pub async fn reject(
        &self,
        id: &str,
        actor: Actor,
        why: &str,
    ) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let why_s = why.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?
                    .ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                queue::decide(
                    tx,
                    &id_s,
                    false,
                    &actor,
                    rec.plan_hash.as_deref().unwrap_or(""),
                    Some(&why_s),
                )?;
                let out = queue::transition(
                    tx,
                    &id_s,
                    &[
                        ActionState::PendingApproval,
                        ActionState::Approved,
                        ActionState::Proposed,
                    ],
                    ActionState::Rejected,
                    &actor.label(),
                    Some(&why_s),
                )?;
                release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                rec.action.workflow().dropped(tx, &id_s)?;
                Ok(out)
            })
            .await?;
        self.changed(id, ActionState::Rejected, Some(why.into()));
        Ok(rec)
    }

    /// Cancel: at once if not yet running, else between steps.
    pub async fn cancel(&self, id: &str, actor: Actor) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?
                    .ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                match rec.state {
                    ActionState::Running => {
                        queue::request_cancel(tx, &id_s)?;
                        audit::append(
                            tx,
                            &actor.label(),
                            "cancel_requested",
                            Some(&id_s),
                            &json!({}),
                        )?;
                        Ok(rec)
                    }
                    ActionState::PendingApproval
                    | ActionState::Approved
                    | ActionState::Proposed => {
                        let out = queue::transition(
                            tx,
                            &id_s,
                            &[rec.state],
                            ActionState::Cancelled,
                            &actor.label(),
                            Some("cancelled"),
                        )?;
                        release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                        rec.action.workflow().dropped(tx, &id_s)?;
                        Ok(out)
                    }
                    s => Err(EngineError::WrongState {
                        id: id_s.clone(),
                        state: s,
                        what: "it has ended".into(),
                    }),
                }
            })
            .await?;
        self.changed(id, rec.state, Some("cancel".into()));
        Ok(rec)
    }

    /// Drop held proposals older than `max_age_secs` (a console that died
    /// with its confirmation dialog open), freeing their reservations.
    pub async fn expire_held(&self, max_age_secs: i64) -> Result<usize, EngineError> {
        let cutoff = now() - max_age_secs;
        let ids = self
            .read(move |c, inner| queue::held_before(c, &inner.cluster, cutoff))
            .await?;
        let mut n = 0;
        for id in ids {
            if self
                .cancel(&id, Actor::policy("held_proposal_expired"))
                .await
                .is_ok()
            {
                n += 1;
            }
        }
        Ok(n)
    }
}
