//! Refreshing the inventory with as few API calls as possible.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::watch::RefreshOptions;
use super::{CachedConfig, Fingerprint, GuestInfo, Inventory, NodeInfo, StorageEntry, nics_of};
use crate::pve::types::{ClusterResource, GuestConfig, GuestKind};
use crate::pve::{GuestRef, PveClient, PveError};

/// What a refresh cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    pub api_calls: usize,
    pub configs_read: usize,
    pub config_errors: usize,
    /// Of those read, how many the sweep asked for.
    pub swept: usize,
}

impl Inventory {
    /// Read the cluster anew: the resource list and the task list, then the
    /// configs that changed or were never read (see `watch`), reusing the
    /// rest from `previous`.
    pub async fn refresh(
        client: &PveClient,
        previous: Option<&Inventory>,
        options: &RefreshOptions,
    ) -> Result<(Inventory, RefreshStats), PveError> {
        let resources = client.cluster_resources(None).await?;
        Inventory::refresh_from(client, resources, 1, previous, options).await
    }

    /// As `refresh`, from a resource list already read (`calls`: what
    /// reading it cost).
    pub async fn refresh_from(
        client: &PveClient,
        resources: Vec<ClusterResource>,
        calls: usize,
        previous: Option<&Inventory>,
        options: &RefreshOptions,
    ) -> Result<(Inventory, RefreshStats), PveError> {
        let mut stats = RefreshStats {
            api_calls: calls,
            ..Default::default()
        };
        let mut watch = previous.map(|p| p.watch.clone()).unwrap_or_default();
        let tasks = if options.read_tasks {
            stats.api_calls += 1;
            client.cluster_tasks().await?
        } else {
            Vec::new()
        };
        let touched = watch.touched_by(&tasks, previous.is_none() || !options.read_tasks);
        let now = Instant::now();
        let offline: Vec<&str> = resources
            .iter()
            .filter(|r| r.kind == "node" && r.status.as_deref() != Some("online"))
            .filter_map(|r| r.node.as_deref())
            .collect();
        let mut configs: BTreeMap<u32, Arc<CachedConfig>> = BTreeMap::new();
        let mut changed: Vec<(GuestRef, Fingerprint)> = Vec::new();
        let mut cold: Vec<(GuestRef, Fingerprint)> = Vec::new();
        let mut guests = 0;
        for r in resources.iter().filter(|r| r.is_guest()) {
            let (Some(vmid), Some(node), Some(kind)) =
                (r.vmid, r.node.clone(), GuestKind::parse(&r.kind))
            else {
                continue;
            };
            guests += 1;
            let fp = Fingerprint::of(r);
            let cached = previous.and_then(|p| p.configs.get(&vmid));
            let wanted = options.only_node.as_deref().is_none_or(|n| n == node)
                && !options.known.get(&vmid).is_some_and(|(name, kind)| {
                    r.name.as_deref() == Some(name.as_str()) && r.kind == *kind
                });
            let readable = wanted && !offline.contains(&node.as_str());
            match cached {
                Some(c) if c.fingerprint == fp && !touched.guests.contains(&vmid) => {
                    configs.insert(vmid, c.clone());
                }
                Some(c) => {
                    if readable {
                        changed.push((GuestRef::new(&node, kind, vmid), fp));
                    }
                    // Until it is read again, what it was.
                    configs.insert(vmid, c.clone());
                }
                None if readable => cold.push((GuestRef::new(&node, kind, vmid), fp)),
                None => {}
            }
        }
        if let Some(budget) = options.cold_budget {
            cold.truncate(budget);
        }
        // The sweep: the configs read longest ago, a few per refresh.
        let sweep = watch.sweep_count(guests, now, options);
        let mut sweeping: Vec<(GuestRef, Fingerprint)> = Vec::new();
        if sweep > 0 && options.only_node.is_none() {
            let busy: std::collections::HashSet<u32> =
                changed.iter().map(|(g, _)| g.vmid).collect();
            let mut oldest: Vec<(&u32, &Arc<CachedConfig>)> =
                configs.iter().filter(|(v, _)| !busy.contains(v)).collect();
            let k = sweep.min(oldest.len());
            if k > 0 {
                oldest.select_nth_unstable_by_key(k - 1, |(_, c)| c.read_at);
                for (vmid, _) in oldest.into_iter().take(k) {
                    if let Some(r) = resources.iter().find(|r| r.vmid == Some(*vmid))
                        && let (Some(node), Some(kind)) =
                            (r.node.clone(), GuestKind::parse(&r.kind))
                        && !offline.contains(&node.as_str())
                    {
                        sweeping.push((GuestRef::new(&node, kind, *vmid), Fingerprint::of(r)));
                    }
                }
            }
        }
        stats.swept = sweeping.len();
        let to_read: Vec<(GuestRef, Fingerprint)> =
            changed.into_iter().chain(sweeping).chain(cold).collect();
        let client = Arc::new(client.clone());
        let mut pending = FuturesUnordered::new();
        let mut queue = to_read.into_iter();
        loop {
            while pending.len() < options.concurrency.max(1) {
                let Some((g, fp)) = queue.next() else { break };
                let c = client.clone();
                pending.push(async move {
                    let r = c.guest_config(&g).await;
                    (g, fp, r)
                });
            }
            let Some((g, fp, result)) = pending.next().await else {
                break;
            };
            stats.api_calls += 1;
            match result {
                Ok(cfg) => {
                    stats.configs_read += 1;
                    let entry = CachedConfig::new(g.kind, cfg, Instant::now(), fp);
                    configs.insert(g.vmid, Arc::new(entry));
                }
                Err(e) => {
                    // Keep the older copy (if any) rather than showing nothing.
                    stats.config_errors += 1;
                    tracing::debug!(guest = %g, error = %e, "config read failed");
                }
            }
        }
        let mut inv = build(&resources, configs, now);
        inv.configs_loading = resources
            .iter()
            .filter(|r| r.is_guest())
            .filter(|r| r.vmid.is_some_and(|v| !inv.configs.contains_key(&v)))
            .filter(|r| !r.node.as_deref().is_some_and(|n| offline.contains(&n)))
            .count();
        inv.watch = watch;
        inv.tasks = tasks;
        inv.touched = touched;
        Ok((inv, stats))
    }
}

impl Inventory {
    /// An inventory from data already read (fixtures, recorded responses).
    pub fn from_parts(
        resources: &[ClusterResource],
        configs: BTreeMap<u32, GuestConfig>,
        fetched_unix: i64,
    ) -> Inventory {
        let now = Instant::now();
        let configs = configs
            .into_iter()
            .filter_map(|(vmid, cfg)| {
                let r = resources.iter().find(|r| r.vmid == Some(vmid))?;
                let kind = GuestKind::parse(&r.kind)?;
                let entry = CachedConfig::new(kind, cfg, now, Fingerprint::of(r));
                Some((vmid, Arc::new(entry)))
            })
            .collect();
        let mut inv = build(resources, configs, now);
        inv.fetched_unix = fetched_unix;
        inv
    }
}

fn build(
    resources: &[ClusterResource],
    configs: BTreeMap<u32, Arc<CachedConfig>>,
    now: Instant,
) -> Inventory {
    let mut nodes: Vec<NodeInfo> = resources
        .iter()
        .filter(|r| r.kind == "node")
        .filter_map(|r| {
            Some(NodeInfo {
                name: r.node.clone()?,
                status: r.status.clone().unwrap_or_else(|| "unknown".into()),
                cpu: r.cpu,
                maxcpu: r.maxcpu,
                mem: r.mem,
                maxmem: r.maxmem,
                uptime: r.uptime,
            })
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut guests: Vec<GuestInfo> = resources
        .iter()
        .filter(|r| r.is_guest())
        .filter_map(|r| {
            let vmid = r.vmid?;
            let kind = GuestKind::parse(&r.kind)?;
            let cfg = configs.get(&vmid);
            Some(GuestInfo {
                vmid,
                name: r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}{vmid}", kind.noun())),
                node: r.node.clone().unwrap_or_default(),
                kind,
                status: r.status.clone().unwrap_or_else(|| "unknown".into()),
                template: r.template,
                tags: r.tag_list(),
                lock: r.lock.clone(),
                cpu: r.cpu,
                maxcpu: r.maxcpu,
                mem: r.mem,
                maxmem: r.maxmem,
                uptime: r.uptime,
                hostname: cfg.and_then(|c| c.hostname.clone()),
                nics: cfg.map(|c| c.nics.clone()).unwrap_or_default(),
                storages: cfg.map(|c| c.storages.clone()).unwrap_or_default(),
                media: cfg.map(|c| c.media.clone()).unwrap_or_default(),
                config_known: cfg.is_some(),
            })
        })
        .collect();
    guests.sort_by_key(|g| g.vmid);
    let storages = resources
        .iter()
        .filter(|r| r.kind == "storage")
        .filter_map(|r| {
            Some(StorageEntry {
                storage: r.storage.clone()?,
                node: r.node.clone()?,
                plugintype: r.plugintype.clone().unwrap_or_default(),
                content: r
                    .content
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                shared: r.shared,
                status: r.status.clone().unwrap_or_default(),
                disk: r.disk,
                maxdisk: r.maxdisk,
            })
        })
        .collect();
    let index = guests
        .iter()
        .enumerate()
        .map(|(i, g)| (g.vmid, i))
        .collect();
    Inventory {
        nodes,
        guests,
        storages,
        fetched_at: Some(now),
        fetched_unix: crate::store::now(),
        configs,
        index,
        ..Default::default()
    }
}

impl CachedConfig {
    /// Work out once what the panes take from a config.
    fn new(kind: GuestKind, config: GuestConfig, read_at: Instant, fp: Fingerprint) -> Self {
        let mut storages: Vec<String> = config
            .disks()
            .iter()
            .filter_map(|(_, d)| d.storage().map(str::to_string))
            .collect();
        storages.sort();
        storages.dedup();
        CachedConfig {
            hostname: config.get("hostname").map(str::to_string),
            nics: nics_of(kind, &config),
            media: media_of(&config),
            storages,
            config,
            read_at,
            fingerprint: fp,
        }
    }
}

/// The CD-ROM drives of a config that hold something.
fn media_of(cfg: &GuestConfig) -> Vec<super::Media> {
    cfg.cdroms()
        .into_iter()
        .map(|(key, d)| super::Media {
            key,
            volume: d.volume().unwrap_or_default().to_string(),
            storage: d.storage().map(str::to_string),
            cloudinit: d.is_cloudinit(),
        })
        .collect()
}
