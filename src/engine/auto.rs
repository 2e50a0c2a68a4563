//! Auto-replication: on each inventory refresh, a template on the primary node
//! (and, with `cross_node_replication`, a guest tagged for replication on any
//! other node) that is missing on some nodes gets a proposed `Replicate`
//! action, which then follows the policy like any other.

use crate::engine::Replicate;
use std::collections::HashSet;

use super::action::{Action, Actor, GuestSel, Targets};
use super::core::Engine;
use super::error::EngineError;
use super::queue::{ActionRecord, ActionState};
use crate::inventory::Inventory;
use crate::policy::Verdict;

impl Engine {
    /// Propose replication for every guest the rules say should be everywhere
    /// and is not. Guests with a replication already queued are left alone, and
    /// nothing the policy would refuse is proposed (no noise on every refresh).
    pub async fn propose_missing_replicas(
        &self,
        inv: &Inventory,
    ) -> Result<Vec<ActionRecord>, EngineError> {
        let rules = &self.config().policies.replication;
        let open: HashSet<u32> = self
            .list(vec![
                ActionState::Proposed,
                ActionState::PendingApproval,
                ActionState::Approved,
                ActionState::Running,
            ])
            .await?
            .into_iter()
            .filter(|r| matches!(r.action, Action::Replicate(_)))
            .map(|r| r.action.guests()[0].vmid)
            .collect();
        let primary = self
            .config()
            .naming
            .node(&rules.primary_node)
            .map(|n| n.pve_name.clone())
            .unwrap_or_else(|| rules.primary_node.clone());
        let nodes: Vec<String> = self
            .config()
            .naming
            .nodes
            .iter()
            .map(|n| n.pve_name.clone())
            .collect();
        let mut out = Vec::new();
        for g in &inv.guests {
            let from_primary = rules.auto_replicate_from_primary && g.template && g.node == primary;
            let tagged = rules.cross_node_replication
                && g.node != primary
                && g.tags.contains(&rules.replicate_tag);
            if !(from_primary || tagged) || open.contains(&g.vmid) {
                continue;
            }
            let (cluster, vmid) = (self.cluster().to_string(), g.vmid);
            let mut have: Vec<String> = self
                .read(move |c, _| {
                    let mut st = c.prepare(
                        "SELECT node FROM resource_metadata WHERE cluster = ?1 AND origin_template_id = ?2 AND is_replica = 1 AND gone_at IS NULL",
                    )?;
                    let nodes = st.query_map(rusqlite::params![cluster, vmid], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                    Ok(nodes)
                })
                .await?;
            // Replicas another proxdeck made (another host, another database).
            have.extend(
                crate::engine::workflows::replicate::plan::replica_nodes_in_cluster(inv, g.vmid),
            );
            let missing: Vec<String> = nodes
                .iter()
                .filter(|n| {
                    **n != g.node && !have.contains(n) && inv.node(n).is_some_and(|x| x.online())
                })
                .cloned()
                .collect();
            if missing.is_empty() {
                continue;
            }
            let action = Action::Replicate(Replicate {
                source: GuestSel::of(g),
                targets: Targets::Nodes(missing),
                start: false,
            });
            if matches!(self.policy().evaluate(&action), Verdict::Reject { .. }) {
                continue;
            }
            let rule = if from_primary {
                "auto_replicate_from_primary"
            } else {
                "cross_node_replication"
            };
            let reason = if from_primary {
                format!("{} is a template on the primary node {primary}", g.name)
            } else {
                format!("{} is tagged '{}'", g.name, rules.replicate_tag)
            };
            match self
                .propose(action, Actor::policy(rule), Some(reason), inv)
                .await
            {
                Ok(rec) => out.push(rec),
                // Another executor proposed the same a moment ago.
                Err(EngineError::NothingToDo(why)) => {
                    tracing::debug!(guest = %g.name, %why, "auto-replication already under way")
                }
                Err(e) => {
                    tracing::warn!(guest = %g.name, error = %e, "auto-replication could not be planned")
                }
            }
        }
        Ok(out)
    }
}
