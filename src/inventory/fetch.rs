//! Refreshing the inventory with as few API calls as possible.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Fingerprint, GuestInfo, Inventory, NodeInfo, StorageEntry, nics_of};
use crate::pve::types::{ClusterResource, GuestConfig, GuestKind};
use crate::pve::{GuestRef, PveClient, PveError};

/// How a refresh reads configs.
#[derive(Debug, Clone)]
pub struct RefreshOptions {
    /// Config reads at once.
    pub concurrency: usize,
    /// Re-read a config at least this often even if nothing seemed to change.
    pub config_max_age: Duration,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions {
            concurrency: 8,
            config_max_age: Duration::from_secs(300),
        }
    }
}

/// What a refresh cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    pub api_calls: usize,
    pub configs_read: usize,
    pub config_errors: usize,
}

impl Inventory {
    /// Read the cluster anew, reusing configs from `previous` where nothing changed.
    pub async fn refresh(
        client: &PveClient,
        previous: Option<&Inventory>,
        options: &RefreshOptions,
    ) -> Result<(Inventory, RefreshStats), PveError> {
        let resources = client.cluster_resources(None).await?;
        let mut stats = RefreshStats {
            api_calls: 1,
            ..Default::default()
        };
        let now = Instant::now();
        let mut configs: BTreeMap<u32, (GuestConfig, Instant, Fingerprint)> = BTreeMap::new();
        let mut to_read: Vec<(GuestRef, Fingerprint)> = Vec::new();
        for r in resources.iter().filter(|r| r.is_guest()) {
            let (Some(vmid), Some(node), Some(kind)) =
                (r.vmid, r.node.clone(), GuestKind::parse(&r.kind))
            else {
                continue;
            };
            let fp = Fingerprint::of(r);
            let cached = previous
                .and_then(|p| p.configs.get(&vmid))
                .filter(|(_, at, old)| {
                    *old == fp && now.duration_since(*at) < options.config_max_age
                });
            match cached {
                Some(c) => {
                    configs.insert(vmid, c.clone());
                }
                None => to_read.push((GuestRef::new(&node, kind, vmid), fp)),
            }
        }
        // Only guests on online nodes can answer.
        let offline: Vec<&str> = resources
            .iter()
            .filter(|r| r.kind == "node" && r.status.as_deref() != Some("online"))
            .filter_map(|r| r.node.as_deref())
            .collect();
        to_read.retain(|(g, _)| !offline.contains(&g.node.as_str()));
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
                    configs.insert(g.vmid, (cfg, Instant::now(), fp));
                }
                Err(e) => {
                    stats.config_errors += 1;
                    tracing::debug!(guest = %g, error = %e, "config read failed");
                    // Keep the older copy rather than showing nothing.
                    if let Some(old) = previous.and_then(|p| p.configs.get(&g.vmid)) {
                        configs.insert(g.vmid, old.clone());
                    }
                }
            }
        }
        let inv = build(&resources, configs, now);
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
                Some((vmid, (cfg, now, Fingerprint::of(r))))
            })
            .collect();
        let mut inv = build(resources, configs, now);
        inv.fetched_unix = fetched_unix;
        inv
    }
}

fn build(
    resources: &[ClusterResource],
    configs: BTreeMap<u32, (GuestConfig, Instant, Fingerprint)>,
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
            let cfg = configs.get(&vmid).map(|(c, _, _)| c);
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
                hostname: cfg.and_then(|c| c.get("hostname").map(str::to_string)),
                nics: cfg.map(|c| nics_of(kind, c)).unwrap_or_default(),
                storages: cfg
                    .map(|c| {
                        let mut s: Vec<String> = c
                            .disks()
                            .iter()
                            .filter_map(|(_, d)| d.storage().map(str::to_string))
                            .collect();
                        s.sort();
                        s.dedup();
                        s
                    })
                    .unwrap_or_default(),
                media: cfg.map(media_of).unwrap_or_default(),
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
    Inventory {
        nodes,
        guests,
        storages,
        fetched_at: Some(now),
        fetched_unix: crate::store::now(),
        configs,
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
