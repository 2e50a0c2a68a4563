//! Policy: what needs approval, what is prohibited, what protects itself, and
//! when a safety snapshot comes first. It lives in the engine's path, so no
//! front end (and no assistant) can get around it.

use crate::engine::{DeleteGuest, DeleteGuestSnapshot};
use serde::Serialize;

use crate::config::NamingConfig;
use crate::config::policies::{PolicyConfig, ProtectionRule};
use crate::engine::action::{Action, GuestSel};

/// What the policy says about an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// May run at once.
    Allow,
    /// Waits for someone to approve the exact plan.
    NeedsApproval { rule: String },
    /// Never runs.
    Reject { rule: String, reason: String },
}

/// The policy in force.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub policies: &'a PolicyConfig,
    pub naming: &'a NamingConfig,
    /// `--read-only`, the cluster's `read_only`, or the policy file's.
    pub read_only: bool,
}

/// `*` matches any run, `?` one character; case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// The self-protection rule covering a guest, and why.
pub fn protection<'p>(
    policies: &'p PolicyConfig,
    g: &GuestSel,
) -> Option<(&'p ProtectionRule, String)> {
    for rule in &policies.self_protection {
        if let Some(p) = rule.names.iter().find(|p| glob_match(p, &g.name)) {
            return Some((rule, format!("its name matches '{p}'")));
        }
        if let Some(t) = rule
            .tags
            .iter()
            .find(|t| g.tags.iter().any(|gt| gt.eq_ignore_ascii_case(t)))
        {
            return Some((rule, format!("it carries the tag '{t}'")));
        }
    }
    None
}

impl<'a> Policy<'a> {
    pub fn new(policies: &'a PolicyConfig, naming: &'a NamingConfig, read_only: bool) -> Self {
        Policy {
            policies,
            naming,
            read_only: read_only || policies.read_only,
        }
    }

    /// Whether `node` (either name form) is the primary template node.
    fn is_primary(&self, node: &str) -> bool {
        let primary = &self.policies.replication.primary_node;
        node == primary
            || self.naming.node(node).is_some_and(|n| {
                n.pve_name == *primary || n.name == *primary || n.is_primary_template
            })
    }

    /// `evaluate` for a proposer: a schedule's actions listed in
    /// `scheduled_without_approval` skip the approval queue (rejections stay).
    pub fn evaluate_for(&self, action: &Action, proposer: &crate::engine::Actor) -> Verdict {
        let v = self.evaluate(action);
        let scheduled = proposer.via == crate::engine::Via::Policy
            && proposer.who.starts_with("policy:schedule:");
        match v {
            Verdict::NeedsApproval { .. }
                if scheduled
                    && self
                        .policies
                        .ops
                        .scheduled_without_approval
                        .contains(&action.kind()) =>
            {
                Verdict::Allow
            }
            other => other,
        }
    }

    pub fn evaluate(&self, action: &Action) -> Verdict {
        let kind = action.kind();
        if self.read_only {
            return Verdict::Reject {
                rule: "read_only".into(),
                reason: "proxdeck runs read-only (--read-only, the cluster's read_only, or action-policies.yml): no action may change the cluster".into(),
            };
        }
        if self.policies.prohibited.actions.contains(&kind) {
            return Verdict::Reject {
                rule: "prohibited.actions".into(),
                reason: format!("{kind} is prohibited by action-policies.yml"),
            };
        }
        match action {
            Action::DeleteGuest(DeleteGuest { guest })
                if guest.template
                    && self.policies.prohibited.delete_primary_templates
                    && self.is_primary(&guest.node) =>
            {
                return Verdict::Reject {
                    rule: "prohibited.delete_primary_templates".into(),
                    reason: format!("{guest} is a template on the primary template node"),
                };
            }
            Action::DeleteGuestSnapshot(DeleteGuestSnapshot {
                by_retention: false,
                ..
            }) if self.policies.prohibited.manual_snapshot_deletion => {
                return Verdict::Reject {
                    rule: "prohibited.manual_snapshot_deletion".into(),
                    reason: "snapshots are removed only by retention auto-cleanup".into(),
                };
            }
            _ => {}
        }
        for g in action.guests() {
            if let Some((rule, why)) = protection(self.policies, g) {
                return Verdict::Reject {
                    rule: format!("self_protection.{}", rule.name),
                    reason: format!("{g} is protected by rule '{}': {why}", rule.name),
                };
            }
        }
        if self.policies.approval_required.contains(&kind) {
            return Verdict::NeedsApproval {
                rule: format!("approval_required: {kind}"),
            };
        }
        Verdict::Allow
    }

    /// Whether policy wants a safety snapshot before this workflow runs.
    pub fn wants_safety_snapshot(&self, workflow: &dyn crate::engine::Workflow) -> bool {
        workflow
            .safety_trigger()
            .is_some_and(|t| self.policies.safety_snapshots.before.contains(&t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{CreateGuestSnapshot, Replicate};
    use crate::pve::GuestKind;

    fn guest(name: &str, node: &str, tags: &[&str], template: bool) -> GuestSel {
        GuestSel {
            vmid: 100,
            name: name.into(),
            node: node.into(),
            kind: GuestKind::Lxc,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            template,
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*n8n*", "prod-N8N-worker"));
        assert!(glob_match("prometheus*", "prometheus"));
        assert!(glob_match("pve-??-01", "pve-db-01"));
        assert!(!glob_match("pve-??-01", "pve-web-01"));
    }

    #[test]
    fn verdicts_name_their_rule() {
        let cfg = Config::load(&crate::paths::repo_config_dir()).unwrap();
        let p = Policy::new(&cfg.policies, &cfg.naming, false);
        let rep = |g| {
            Action::Replicate(Replicate {
                source: g,
                targets: crate::engine::action::Targets::All,
                start: false,
            })
        };
        assert_eq!(
            p.evaluate(&rep(guest("pve-db-01", "pve-node-01", &[], true))),
            Verdict::NeedsApproval {
                rule: "approval_required: replicate_resource".into()
            }
        );
        match p.evaluate(&rep(guest("n8n-main", "pve-node-02", &[], false))) {
            Verdict::Reject { rule, reason } => {
                assert_eq!(rule, "self_protection.n8n-containers");
                assert!(reason.contains("its name matches '*n8n*'"), "{reason}");
            }
            v => panic!("{v:?}"),
        }
        match p.evaluate(&Action::DeleteGuest(DeleteGuest {
            guest: guest("pve-db-01", "pve-node-01", &[], true),
        })) {
            Verdict::Reject { rule, .. } => assert_eq!(rule, "prohibited.delete_primary_templates"),
            v => panic!("{v:?}"),
        }
        match p.evaluate(&Action::DeleteGuestSnapshot(DeleteGuestSnapshot {
            guest: guest("pve-db-01", "pve-node-01", &[], false),
            snapshot: "s".into(),
            by_retention: false,
        })) {
            Verdict::Reject { rule, .. } => assert_eq!(rule, "prohibited.manual_snapshot_deletion"),
            v => panic!("{v:?}"),
        }
        let snap = Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: guest("pve-web-01", "pve-node-02", &[], false),
            name: None,
            description: None,
            vmstate: false,
        });
        assert_eq!(p.evaluate(&snap), Verdict::Allow);
        let ro = Policy::new(&cfg.policies, &cfg.naming, true);
        assert!(matches!(ro.evaluate(&snap), Verdict::Reject { rule, .. } if rule == "read_only"));
        let tagged = Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: guest("db-x", "pve-node-02", &["monitoring"], false),
            name: None,
            description: None,
            vmstate: false,
        });
        assert!(
            matches!(p.evaluate(&tagged), Verdict::Reject { rule, .. } if rule == "self_protection.monitoring-infrastructure")
        );
    }
}
