//! Expanding actions into plans, with every identity reserved for the life of
//! the workflow (names, VMIDs, addresses, MACs) inside the caller's transaction.

use std::net::Ipv4Addr;

use rusqlite::{Transaction, params};

use super::action::{Action, GuestSel, Targets};
use super::error::EngineError;
use super::plan::{Plan, StepList, Strategy, TargetPlan};
use crate::config::Config;
use crate::inventory::{GuestInfo, Inventory};
use crate::ipam::alloc::Ipam;
use crate::ipam::ranges::subnet_of;
use crate::ipam::{AllocState, LiveAddresses, MacWanted, ReserveRequest};
use crate::naming::Convention;
use crate::naming::reserve::{NameRequest, reserve_name};
use crate::policy::Policy;
use crate::pve::GuestKind;

/// What planning needs to know.
pub struct PlanContext<'a> {
    pub config: &'a Config,
    pub cluster: &'a str,
    pub inventory: &'a Inventory,
    pub live: &'a LiveAddresses,
    /// `/cluster/nextid` read just before (VMIDs are chosen from there up).
    pub next_vmid: u32,
    pub actor: &'a str,
    pub read_only: bool,
    /// LVs and backup listings read for this plan.
    pub facts: &'a super::facts::PlanFacts,
}

/// What a new guest's identity must be, where the requester said so.
#[derive(Debug, Clone, Default)]
pub struct Wish {
    pub name: Option<String>,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<crate::macaddr::MacAddr>,
}

fn plan_err(msg: impl Into<String>) -> EngineError {
    EngineError::Plan(msg.into())
}

impl PlanContext<'_> {
    pub(crate) fn guest(&self, g: &GuestSel) -> Result<&GuestInfo, EngineError> {
        self.inventory
            .guest(g.vmid)
            .ok_or_else(|| plan_err(format!("{g} is not in the cluster any more")))
    }

    /// Proxmox name of a node given in either form.
    pub(crate) fn pve_node(&self, node: &str) -> Result<String, EngineError> {
        if let Some(n) = self.config.naming.node(node) {
            return Ok(n.pve_name.clone());
        }
        if self.inventory.node(node).is_some() {
            return Ok(node.to_string());
        }
        Err(plan_err(format!("unknown node '{node}'")))
    }

    /// How a copy of `src` can reach `target`, as Proxmox allows.
    fn strategy(
        &self,
        src: &GuestInfo,
        target: &str,
    ) -> Result<(Strategy, Option<String>), EngineError> {
        if src.node == target {
            return Ok((Strategy::CloneLocal, None));
        }
        let storages = &self.inventory.storages;
        let on = |id: &str, node: &str| storages.iter().find(|s| s.storage == id && s.node == node);
        let all_shared = !src.storages.is_empty()
            && src
                .storages
                .iter()
                .all(|s| on(s, &src.node).is_some_and(|e| e.shared) && on(s, target).is_some());
        if all_shared {
            let st = src.storages[0].clone();
            return Ok((
                Strategy::CloneWithTarget {
                    storage: st.clone(),
                },
                Some(st),
            ));
        }
        let local_everywhere = src.storages.iter().all(|s| on(s, target).is_some());
        // A running container can only be fully cloned from a snapshot.
        let clonable = src.kind == GuestKind::Qemu || !src.is_running();
        if local_everywhere && clonable {
            return Ok((Strategy::CloneThenMigrate, None));
        }
        let backup = storages
            .iter()
            .filter(|s| s.shared && s.node == src.node && s.content.iter().any(|c| c == "backup"))
            .find(|s| on(&s.storage, target).is_some());
        match backup {
            Some(b) => Ok((
                Strategy::BackupRestore {
                    storage: b.storage.clone(),
                },
                None,
            )),
            None => Err(plan_err(format!(
                "no way to copy {} to {target}: its disks ({}) are not on storage shared with {target}, {}, and no shared backup storage reaches both nodes",
                src.name,
                src.storages.join(", "),
                if clonable {
                    "cannot be migrated there"
                } else {
                    "a running container cannot be cloned"
                }
            ))),
        }
    }

    /// The first VMID from `next_vmid` up that no guest has and no plan holds.
    fn pick_vmid(&self, tx: &Transaction<'_>) -> Result<u32, EngineError> {
        let mut st = tx.prepare_cached("SELECT vmid FROM name_reservations WHERE cluster = ?1 AND state = 'reserved' AND vmid IS NOT NULL")?;
        let held: std::collections::HashSet<u32> = st
            .query_map([self.cluster], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        (self.next_vmid.max(100)..)
            .find(|v| self.inventory.guest(*v).is_none() && !held.contains(v))
            .ok_or_else(|| plan_err("no free VMID"))
    }

    /// Reserve name, VMID, address and MAC for a new guest on `node`, keeping
    /// what the requester chose in `wish` (name, address, MAC).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_identity(
        &self,
        tx: &Transaction<'_>,
        action_id: &str,
        node: &str,
        role: &str,
        kind: GuestKind,
        prefer: Option<(Ipv4Addr, ipnet::Ipv4Net)>,
        strategy: Option<Strategy>,
        storage: Option<String>,
        wish: &Wish,
    ) -> Result<TargetPlan, EngineError> {
        let conv = Convention::new(&self.config.naming);
        let names: Vec<String> = self
            .inventory
            .guests
            .iter()
            .map(|g| g.name.clone())
            .collect();
        let req = NameRequest {
            node,
            role,
            action_id: Some(action_id),
            by: self.actor,
        };
        let n = match &wish.name {
            Some(name) => {
                crate::naming::reserve::reserve_exact(tx, self.cluster, &conv, &req, name, &names)?
            }
            None => reserve_name(tx, self.cluster, &conv, &req, &names)?,
        };
        let held: Option<u32> = tx.query_row(
            "SELECT vmid FROM name_reservations WHERE id = ?1",
            [n.id],
            |r| r.get(0),
        )?;
        let vmid = match held {
            Some(v) => v,
            None => {
                let v = self.pick_vmid(tx)?;
                tx.execute(
                    "UPDATE name_reservations SET vmid = ?2 WHERE id = ?1",
                    params![n.id, v],
                )?;
                v
            }
        };
        let ipam = Ipam::new(self.cluster, &self.config.naming);
        let (_, subnet) = subnet_of(&self.config.naming, node)?;
        let mut req = ReserveRequest::new(node, kind, self.actor);
        req.name = Some(&n.name);
        req.hostname = Some(&n.hostname);
        req.prefer = prefer;
        req.ip = wish.ip;
        if let Some(m) = wish.mac {
            req.mac = MacWanted::Given(m);
        }
        req.action_id = Some(action_id);
        req.state = AllocState::Reserved;
        let a = ipam.reserve(tx, &req, self.live)?;
        Ok(TargetPlan {
            node: node.to_string(),
            vmid,
            name: n.name,
            hostname: n.hostname,
            ip: Some(a.ip),
            prefix_len: subnet.subnet.prefix_len(),
            gateway: Some(subnet.gateway),
            mac: a.mac,
            bridge: subnet.bridge.clone(),
            nameserver: (!subnet.dns_servers.is_empty()).then(|| {
                subnet
                    .dns_servers
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            strategy,
            storage,
            ip_allocation: Some(a.id),
            name_reservation: Some(n.id),
        })
    }

    /// The source's address and its node's subnet, to keep the host part on other nodes.
    fn origin_address(&self, src: &GuestInfo) -> Option<(Ipv4Addr, ipnet::Ipv4Net)> {
        let ip = src.primary_ip()?;
        let (_, subnet) = subnet_of(&self.config.naming, &src.node).ok()?;
        Some((ip, subnet.subnet))
    }

    pub(crate) fn role(&self, src: &GuestInfo, given: Option<&str>) -> Result<String, EngineError> {
        if let Some(r) = given {
            return Ok(r.to_string());
        }
        Convention::new(&self.config.naming)
            .role_of(&src.name, &src.tags)
            .ok_or_else(|| {
                plan_err(format!(
                    "cannot tell the role of {} from its name or tags: give one with --role",
                    src.name
                ))
            })
    }

    /// Nodes that already have a replica of `vmid`, from the metadata.
    fn replica_nodes(&self, tx: &Transaction<'_>, vmid: u32) -> Result<Vec<String>, EngineError> {
        let mut st = tx.prepare_cached(
            "SELECT node FROM resource_metadata WHERE cluster = ?1 AND origin_template_id = ?2 AND is_replica = 1 AND gone_at IS NULL",
        )?;
        let nodes = st
            .query_map(params![self.cluster, vmid], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(nodes)
    }

    fn target_steps(&self, steps: &mut StepList, t: &TargetPlan, src: &GuestInfo, start: bool) {
        let node = Some(t.node.as_str());
        steps.add(
            "prepare",
            node,
            format!(
                "check that {} is still there and VMID {} is free",
                src.name, t.vmid
            ),
        );
        match t.strategy.as_ref() {
            Some(Strategy::CloneLocal) | None => {
                steps.add(
                    "clone",
                    node,
                    format!("full clone {} → {} (vmid {})", src.vmid, t.name, t.vmid),
                );
            }
            Some(Strategy::CloneWithTarget { storage }) => steps.add(
                "clone",
                node,
                format!(
                    "full clone {} → {} (vmid {}) on {} storage {storage}",
                    src.vmid, t.name, t.vmid, t.node
                ),
            ),
            Some(Strategy::CloneThenMigrate) => {
                steps.add(
                    "clone",
                    node,
                    format!(
                        "full clone {} → {} (vmid {}) on {}",
                        src.vmid, t.name, t.vmid, src.node
                    ),
                );
                steps.add(
                    "migrate",
                    node,
                    format!("offline migration of {} to {}", t.vmid, t.node),
                );
            }
            Some(Strategy::BackupRestore { storage }) => {
                steps.add("backup", node, format!("vzdump {} to {storage}", src.vmid));
                steps.add(
                    "restore",
                    node,
                    format!("restore as {} (vmid {}) on {}", t.name, t.vmid, t.node),
                );
            }
        }
        steps.add(
            "configure",
            node,
            format!(
                "set {} {}, MAC {}, address {}/{} gw {}",
                if src.kind == GuestKind::Qemu {
                    "name"
                } else {
                    "hostname"
                },
                t.hostname,
                t.mac.map(|m| m.to_string()).unwrap_or_default(),
                t.ip.map(|i| i.to_string()).unwrap_or_default(),
                t.prefix_len,
                t.gateway.map(|g| g.to_string()).unwrap_or_default()
            ),
        );
        if src.template {
            steps.add(
                "template",
                node,
                format!("make {} a template, as its source is", t.name),
            );
        } else if start {
            steps.add("start", node, format!("start {}", t.name));
        }
        steps.add(
            "verify",
            node,
            "read the config back (and the status, if started)",
        );
        steps.add(
            "record",
            node,
            "record metadata, the address and the result",
        );
    }
}

/// The safety snapshot's name from the policy pattern (`auto-20260129-1403`).
pub fn snapshot_name(pattern: &str, suffix: &str) -> String {
    let date = crate::timefmt::now_local("%Y%m%d");
    let time = crate::timefmt::now_local("%H%M");
    let mut name = pattern.replace("{date}", &date).replace("{time}", &time);
    name.push_str(suffix);
    name.truncate(40);
    name
}

/// Expand `action` into a plan, reserving identities under `action_id`.
pub fn plan(
    tx: &Transaction<'_>,
    ctx: &PlanContext<'_>,
    action: &Action,
    action_id: &str,
) -> Result<Plan, EngineError> {
    let policy = Policy::new(&ctx.config.policies, &ctx.config.naming, ctx.read_only);
    let mut steps = StepList::default();
    let mut notes = Vec::new();
    let mut targets = Vec::new();
    let mut snapshot = None;
    let mut safety = None;
    let summary;
    match action {
        Action::Replicate {
            source,
            targets: wanted,
            start,
        } => {
            let src = ctx.guest(source)?;
            let role = ctx.role(src, None)?;
            let nodes: Vec<String> = match wanted {
                Targets::All => ctx
                    .config
                    .naming
                    .nodes
                    .iter()
                    .map(|n| n.pve_name.clone())
                    .collect(),
                Targets::Nodes(list) => list
                    .iter()
                    .map(|n| ctx.pve_node(n))
                    .collect::<Result<_, _>>()?,
            };
            let existing = ctx.replica_nodes(tx, src.vmid)?;
            for node in nodes {
                if node == src.node {
                    continue;
                }
                if existing.contains(&node) {
                    notes.push(format!(
                        "{node} already has a replica of {}: skipped",
                        src.name
                    ));
                    continue;
                }
                if !ctx.inventory.node(&node).is_some_and(|n| n.online()) {
                    notes.push(format!("{node} is not online: skipped"));
                    continue;
                }
                let (strategy, storage) = ctx.strategy(src, &node)?;
                let t = ctx.new_identity(
                    tx,
                    action_id,
                    &node,
                    &role,
                    src.kind,
                    ctx.origin_address(src),
                    Some(strategy),
                    storage,
                    &Wish::default(),
                )?;
                ctx.target_steps(&mut steps, &t, src, *start);
                targets.push(t);
            }
            if targets.is_empty() {
                return Err(plan_err(format!(
                    "nothing to replicate: {}",
                    if notes.is_empty() {
                        "no other node".into()
                    } else {
                        notes.join("; ")
                    }
                )));
            }
            summary = format!(
                "Replicate {} ({} {}) from {} to {}",
                src.name,
                src.kind.noun(),
                src.vmid,
                src.node,
                targets
                    .iter()
                    .map(|t| t.node.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Action::CloneGuest {
            source,
            target_node,
            role,
            start,
        } => {
            let src = ctx.guest(source)?;
            let role = ctx.role(src, role.as_deref())?;
            let node = ctx.pve_node(target_node)?;
            let (strategy, storage) = ctx.strategy(src, &node)?;
            let t = ctx.new_identity(
                tx,
                action_id,
                &node,
                &role,
                src.kind,
                None,
                Some(strategy),
                storage,
                &Wish::default(),
            )?;
            ctx.target_steps(&mut steps, &t, src, *start);
            summary = format!(
                "Clone {} ({} {}) to {} as {}",
                src.name,
                src.kind.noun(),
                src.vmid,
                node,
                t.name
            );
            targets.push(t);
        }
        Action::CreateGuestSnapshot {
            guest,
            name,
            description,
            ..
        } => {
            let g = ctx.guest(guest)?;
            let n = name.clone().unwrap_or_else(|| {
                snapshot_name(&ctx.config.policies.safety_snapshots.name_pattern, "")
            });
            if !crate::pve::names::is_config_id(&n) {
                return Err(plan_err(format!(
                    "'{n}' is not a valid snapshot name (a letter, then letters, digits, '-' or '_')"
                )));
            }
            steps.add(
                "snapshot",
                None,
                format!(
                    "snapshot {} as {n}{}",
                    g.name,
                    description
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            );
            steps.add("record", None, "add it to the snapshot catalog");
            summary = format!(
                "Snapshot {} ({} {} on {}) as {n}",
                g.name,
                g.kind.noun(),
                g.vmid,
                g.node
            );
            snapshot = Some(n);
        }
        Action::RollbackGuestSnapshot {
            guest,
            snapshot: s,
            start,
        } => {
            let g = ctx.guest(guest)?;
            if policy.safety_trigger(action).is_some() {
                let n = snapshot_name(
                    &ctx.config.policies.safety_snapshots.name_pattern,
                    "-pre-rb",
                );
                steps.add(
                    "safety-snapshot",
                    None,
                    format!("safety snapshot {n} of the current state"),
                );
                safety = Some(n);
            }
            steps.add(
                "rollback",
                None,
                format!(
                    "roll {} back to {s}{}",
                    g.name,
                    if *start { ", then start it" } else { "" }
                ),
            );
            steps.add("record", None, "refresh the snapshot catalog");
            summary = format!(
                "Roll {} ({} {} on {}) back to snapshot {s}",
                g.name,
                g.kind.noun(),
                g.vmid,
                g.node
            );
            snapshot = Some(s.clone());
        }
        Action::DeleteGuestSnapshot {
            guest, snapshot: s, ..
        } => {
            let g = ctx.guest(guest)?;
            steps.add(
                "delete-snapshot",
                None,
                format!("delete snapshot {s} of {}", g.name),
            );
            steps.add("record", None, "refresh the snapshot catalog");
            summary = format!("Delete snapshot {s} of {}", g.name);
            snapshot = Some(s.clone());
        }
        Action::AssignStaticIp {
            guest,
            ip,
            mac,
            hostname,
        } => {
            let g = ctx.guest(guest)?;
            if g.nics.is_empty() {
                return Err(plan_err(format!(
                    "{} has no network interface to configure",
                    g.name
                )));
            }
            let (entry, subnet) = subnet_of(&ctx.config.naming, &g.node)?;
            let ipam = Ipam::new(ctx.cluster, &ctx.config.naming);
            let mut req = ReserveRequest::new(&entry.name, g.kind, ctx.actor);
            req.vmid = Some(g.vmid);
            req.name = Some(&g.name);
            let host = hostname
                .clone()
                .unwrap_or_else(|| g.hostname.clone().unwrap_or_else(|| g.name.clone()));
            req.hostname = Some(&host);
            req.ip = *ip;
            req.mac = match mac.or(g.primary_mac()) {
                Some(m) => MacWanted::Given(m),
                None => MacWanted::Auto,
            };
            req.action_id = Some(action_id);
            let a = ipam.reserve(tx, &req, ctx.live)?;
            if policy.safety_trigger(action).is_some() {
                let n = snapshot_name(
                    &ctx.config.policies.safety_snapshots.name_pattern,
                    "-pre-ip",
                );
                steps.add(
                    "safety-snapshot",
                    None,
                    format!("safety snapshot {n} before the network change"),
                );
                safety = Some(n);
            }
            steps.add(
                "configure",
                None,
                format!(
                    "set {} {}/{} gw {} MAC {} on {}",
                    if g.kind == GuestKind::Qemu {
                        "ipconfig0"
                    } else {
                        "net0"
                    },
                    a.ip,
                    subnet.subnet.prefix_len(),
                    subnet.gateway,
                    a.mac.map(|m| m.to_string()).unwrap_or_default(),
                    g.name
                ),
            );
            steps.add("verify", None, "read the config back");
            steps.add("record", None, "make the address active in the database");
            summary = format!(
                "Assign {}/{} to {} ({} {} on {})",
                a.ip,
                subnet.subnet.prefix_len(),
                g.name,
                g.kind.noun(),
                g.vmid,
                g.node
            );
            targets.push(TargetPlan {
                node: g.node.clone(),
                vmid: g.vmid,
                name: g.name.clone(),
                hostname: host,
                ip: Some(a.ip),
                prefix_len: subnet.subnet.prefix_len(),
                gateway: Some(subnet.gateway),
                mac: a.mac,
                bridge: subnet.bridge.clone(),
                nameserver: None,
                strategy: None,
                storage: None,
                ip_allocation: Some(a.id),
                name_reservation: None,
            });
        }
        Action::CreateLvmSnapshot { .. }
        | Action::RestoreLvmSnapshot { .. }
        | Action::CleanupLvmSnapshots { .. }
        | Action::GuardedHostUpgrade { .. } => {
            return super::plan_host::plan(tx, ctx, action, action_id);
        }
        Action::CreateBackup { .. }
        | Action::VerifyBackup { .. }
        | Action::SyncBackup { .. }
        | Action::PruneBackups { .. }
        | Action::RestoreBackup { .. } => {
            return super::plan_backup::plan(tx, ctx, action, action_id);
        }
        Action::DeleteGuest { guest } => {
            let g = ctx.guest(guest)?;
            steps.add(
                "delete",
                None,
                format!(
                    "destroy {} ({} {}) and its disks",
                    g.name,
                    g.kind.noun(),
                    g.vmid
                ),
            );
            summary = format!(
                "Delete {} ({} {} on {})",
                g.name,
                g.kind.noun(),
                g.vmid,
                g.node
            );
        }
    }
    Ok(Plan {
        summary,
        steps: steps.into_steps(),
        targets,
        snapshot,
        safety_snapshot: safety,
        notes,
        params: Default::default(),
    })
}

/// Give back every identity an action holds (rejected, cancelled, re-planned, or a target failed).
pub fn release_all(
    tx: &Transaction<'_>,
    cluster: &str,
    config: &Config,
    action_id: &str,
) -> Result<(), EngineError> {
    Ipam::new(cluster, &config.naming).release_for_action(tx, action_id)?;
    crate::naming::reserve::release_for_action(tx, cluster, action_id)?;
    Ok(())
}
