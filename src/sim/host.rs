//! The simulator's hosts: what proxdeck runs over SSH on a node, answered
//! for the demo and the simulator tests. LVM keeps a volume group per node
//! (`pve` with root, swap and the data thin pool), answering with the real
//! tools' wording; archive checks read the simulator's backup volumes; the
//! upgrade prints an apt run. Real SSH and real LVM are tested separately
//! (sshd and the LVM guest); this is only the demo's stand-in.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::sync::mpsc;

use super::Shared;
use super::model::now_unix;
use crate::host::{HostCommand, HostError, HostOutput, HostRunner};

const GIB: u64 = 1 << 30;

#[derive(Debug, Clone)]
struct SimLv {
    name: String,
    size: u64,
    origin: Option<String>,
    created: i64,
    merging: bool,
    kind: char,
}

#[derive(Debug)]
struct HostState {
    vg_size: u64,
    lvs: BTreeMap<String, Vec<SimLv>>,
    corrupt: HashSet<String>,
}

/// Every node of a simulated cluster, reachable as if over SSH.
#[derive(Clone)]
pub struct SimHost {
    shared: Arc<Shared>,
    state: Arc<Mutex<HostState>>,
}

fn base_lvs(boot: i64) -> Vec<SimLv> {
    let lv = |name: &str, size: u64, kind: char| SimLv {
        name: name.into(),
        size,
        origin: None,
        created: boot,
        merging: false,
        kind,
    };
    vec![
        lv("root", 96 * GIB, '-'),
        lv("swap", 8 * GIB, '-'),
        lv("data", 800 * GIB, 't'),
    ]
}

fn out(code: i32, stdout: impl Into<String>, stderr: impl Into<String>) -> HostOutput {
    HostOutput {
        code: Some(code),
        stdout: stdout.into(),
        stderr: stderr.into(),
    }
}

/// The thin volumes of a node's guests on its LVM-thin storage (`vm-N-disk-M` in `data`).
fn guest_thin_lvs(m: &super::model::Model, node: &str, boot: i64) -> Vec<SimLv> {
    let thin: Vec<&str> = m
        .storages
        .iter()
        .filter(|s| s.kind == "lvmthin" && s.on_node(node))
        .map(|s| s.id.as_str())
        .collect();
    m.guests
        .values()
        .filter(|g| g.node == node)
        .flat_map(|g| g.disks())
        .filter_map(|(_, d)| {
            let (storage, name) = d.volume()?.split_once(':')?;
            thin.contains(&storage).then(|| SimLv {
                name: name.to_string(),
                size: d.size_bytes().unwrap_or(GIB),
                origin: None,
                created: boot,
                merging: false,
                kind: 'V',
            })
        })
        .collect()
}

impl SimHost {
    pub fn new(shared: Arc<Shared>) -> SimHost {
        let mut lvs = BTreeMap::new();
        {
            let m = shared.lock();
            for (name, n) in &m.nodes {
                let mut list = base_lvs(n.boot_unix);
                list.extend(guest_thin_lvs(&m, name, n.boot_unix));
                lvs.insert(name.clone(), list);
            }
        }
        SimHost {
            shared,
            state: Arc::new(Mutex::new(HostState {
                vg_size: 1024 * GIB,
                lvs,
                corrupt: HashSet::new(),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Make an archive fail verification (by file name), for tests and demos.
    pub fn corrupt(&self, file: &str) {
        self.state()
            .corrupt
            .insert(file.rsplit(['/', ':']).next().unwrap_or(file).to_string());
    }

    /// Put an LVM snapshot on a node as if taken `age_secs` ago (scenarios and tests).
    pub fn add_snapshot(&self, node: &str, origin: &str, name: &str, size: u64, age_secs: i64) {
        if let Some(list) = self.state().lvs.get_mut(node) {
            list.push(SimLv {
                name: name.into(),
                size,
                origin: Some(origin.into()),
                created: now_unix() - age_secs,
                merging: false,
                kind: 's',
            });
        }
    }

    fn online(&self, node: &str) -> bool {
        self.shared.lock().nodes.get(node).is_some_and(|n| n.online)
    }

    /// Copy-on-write usage of a snapshot: it fills as the origin changes.
    fn usage(lv: &SimLv, now: i64) -> f64 {
        let hours = (now - lv.created).max(0) as f64 / 3600.0;
        (0.05 + hours * 0.4).min(100.0)
    }

    fn lvs_json(&self, node: &str) -> String {
        let st = self.state();
        let now = now_unix();
        let list = st.lvs.get(node).cloned().unwrap_or_default();
        let has_snap = |name: &str| list.iter().any(|l| l.origin.as_deref() == Some(name));
        let has_thick_snap = |name: &str| {
            list.iter()
                .any(|l| l.origin.as_deref() == Some(name) && l.kind == 's')
        };
        let merging_into = |name: &str| {
            list.iter()
                .any(|l| l.origin.as_deref() == Some(name) && l.merging)
        };
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|l| {
                let time = crate::timefmt::format_local(l.created, "%Y-%m-%d %H:%M:%S %z");
                let (attr, name, pct) = match &l.origin {
                    Some(_) if l.kind == 'V' => ("Vwi---tz-k".to_string(), l.name.clone(), String::new()),
                    Some(_) => {
                        let u = Self::usage(l, now);
                        let state = if u >= 100.0 { 'I' } else { 'a' };
                        let t = if l.merging { 'S' } else { 's' };
                        let n = if l.merging { format!("[{}]", l.name) } else { l.name.clone() };
                        (format!("{t}wi-{state}-s---"), n, format!("{u:.2}"))
                    }
                    None if l.kind == 't' => ("twi-aotz--".to_string(), l.name.clone(), String::new()),
                    None if l.kind == 'V' => {
                        let t = if merging_into(&l.name) { 'O' } else if has_thick_snap(&l.name) { 'o' } else { 'V' };
                        (format!("{t}wi-a-tz--"), l.name.clone(), String::new())
                    }
                    None => {
                        let open = if l.name == "root" || l.name == "swap" { 'o' } else { '-' };
                        let t = if merging_into(&l.name) { 'O' } else if has_snap(&l.name) { 'o' } else { '-' };
                        (format!("{t}wi-a{open}{}---", if has_snap(&l.name) { 's' } else { '-' }), l.name.clone(), String::new())
                    }
                };
                json!({"lv_name": name, "vg_name": "pve", "lv_attr": attr, "lv_size": l.size.to_string(),
                       "origin": l.origin.clone().unwrap_or_default(), "snap_percent": pct, "lv_time": time})
            })
            .collect();
        serde_json::to_string_pretty(&json!({"report": [{"lv": rows}]})).unwrap_or_default()
    }

    fn vg_free(st: &HostState, node: &str) -> u64 {
        let used: u64 = st
            .lvs
            .get(node)
            .map(|l| l.iter().filter(|x| x.kind != 'V').map(|x| x.size).sum())
            .unwrap_or(0);
        st.vg_size.saturating_sub(used)
    }

    fn lvcreate(&self, node: &str, args: &[String]) -> HostOutput {
        let get = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let (Some(name), Some(origin)) = (get("-n"), args.last().cloned()) else {
            return out(3, "", "  Please specify a logical volume size.\n");
        };
        let size = get("-L").map(|s| crate::lvm::lvs::parse_size(&s).unwrap_or(0));
        let Some((_, lv)) = origin.split_once('/') else {
            return out(3, "", format!("  Invalid logical volume name {origin}.\n"));
        };
        let mut st = self.state();
        let free = Self::vg_free(&st, node);
        let Some(list) = st.lvs.get_mut(node) else {
            return out(5, "", "  Volume group \"pve\" not found\n");
        };
        if list.iter().any(|l| l.name == name) {
            return out(
                5,
                "",
                format!("  Logical Volume \"{name}\" already exists in volume group \"pve\"\n"),
            );
        }
        let Some(o) = list
            .iter()
            .find(|l| l.name == lv && l.origin.is_none())
            .cloned()
        else {
            return out(
                5,
                "",
                format!("  Snapshot origin LV {lv} not found in Volume group pve.\n"),
            );
        };
        // lvm2's own refusals (snapshot_manip.c), in its words.
        if o.kind == 't' {
            return out(
                5,
                "",
                "  Snapshots of thin pool type volumes are not supported.\n",
            );
        }
        if list
            .iter()
            .any(|l| l.origin.as_deref() == Some(lv) && l.merging)
        {
            return out(
                5,
                "",
                "  Snapshots of an origin that has a merging snapshot are not supported.\n",
            );
        }
        let Some(size) = size else {
            // No size: only a thin volume can have a (thin) snapshot.
            if o.kind != 'V' {
                return out(
                    3,
                    "",
                    "  Please specify either size or extents with snapshots.\n",
                );
            }
            list.push(SimLv {
                name: name.clone(),
                size: o.size,
                origin: Some(lv.to_string()),
                created: now_unix(),
                merging: false,
                kind: 'V',
            });
            return out(0, format!("  Logical volume \"{name}\" created.\n"), "");
        };
        if size > free {
            let extents = size.div_ceil(4 << 20);
            return out(
                5,
                "",
                format!(
                    "  Volume group \"pve\" has insufficient free space ({} extents): {extents} required.\n",
                    free / (4 << 20)
                ),
            );
        }
        list.push(SimLv {
            name: name.clone(),
            size,
            origin: Some(lv.to_string()),
            created: now_unix(),
            merging: false,
            kind: 's',
        });
        out(0, format!("  Logical volume \"{name}\" created.\n"), "")
    }

    fn lvconvert(&self, node: &str, args: &[String]) -> HostOutput {
        let Some(target) = args.last().cloned() else {
            return out(3, "", "  Please provide logical volume path.\n");
        };
        let name = target
            .split_once('/')
            .map(|(_, n)| n.to_string())
            .unwrap_or(target.clone());
        let mut st = self.state();
        let now = now_unix();
        let Some(list) = st.lvs.get_mut(node) else {
            return out(5, "", "  Volume group \"pve\" not found\n");
        };
        let Some(i) = list.iter().position(|l| l.name == name) else {
            return out(
                5,
                "",
                format!("  Failed to find logical volume \"{target}\"\n"),
            );
        };
        let Some(origin) = list[i].origin.clone() else {
            return out(
                5,
                "",
                format!("  {target} cannot be merged because --trackchanges was not used.\n"),
            );
        };
        if list[i].kind == 'V' {
            // A thin snapshot takes its origin's place at once.
            list.retain(|l| l.name != origin);
            if let Some(s) = list.iter_mut().find(|l| l.name == name) {
                s.name = origin.clone();
                s.origin = None;
            }
            return out(
                0,
                format!("  Volume {target} replaced origin pve/{origin}.\n"),
                "",
            );
        }
        if Self::usage(&list[i], now) >= 100.0 {
            return out(
                5,
                "",
                format!("  Unable to merge invalidated snapshot LV {target}.\n"),
            );
        }
        // The root volume is mounted: LVM merges at its next activation.
        if origin == "root" {
            list[i].merging = true;
            return out(
                0,
                format!(
                    "  Delaying merge since origin is open.\n  Merging of snapshot {target} will occur on next activation of pve/{origin}.\n"
                ),
                "",
            );
        }
        list.remove(i);
        out(
            0,
            format!("  Merging of volume {target} started.\n  pve/{origin}: Merged: 100.00%\n"),
            "",
        )
    }

    fn lvremove(&self, node: &str, args: &[String]) -> HostOutput {
        let Some(target) = args.last().cloned() else {
            return out(3, "", "  Please enter one or more logical volume paths.\n");
        };
        let name = target
            .split_once('/')
            .map(|(_, n)| n.to_string())
            .unwrap_or(target.clone());
        let mut st = self.state();
        let Some(list) = st.lvs.get_mut(node) else {
            return out(5, "", "  Volume group \"pve\" not found\n");
        };
        match list.iter().position(|l| l.name == name) {
            None => out(
                5,
                "",
                format!("  Failed to find logical volume \"{target}\"\n"),
            ),
            Some(i) if list[i].merging => out(
                5,
                "",
                format!("  Can't remove merging snapshot logical volume {target}.\n"),
            ),
            Some(i) if list[i].origin.is_none() => out(
                5,
                "",
                format!("  Can't remove logical volume {target} used by snapshots or in use.\n"),
            ),
            Some(i) => {
                list.remove(i);
                out(
                    0,
                    format!("  Logical volume \"{name}\" successfully removed.\n"),
                    "",
                )
            }
        }
    }

    /// A backup path (`pvesm path`) for a volid, and back.
    fn storage_base(storage: &str) -> String {
        if storage == "local" {
            "/var/lib/vz".into()
        } else {
            format!("/mnt/pve/{storage}")
        }
    }

    fn volid_of_path(path: &str) -> Option<String> {
        let (base, file) = path.rsplit_once("/dump/")?;
        let storage = if base == "/var/lib/vz" {
            "local".to_string()
        } else {
            base.strip_prefix("/mnt/pve/")?.to_string()
        };
        Some(format!("{storage}:backup/{file}"))
    }

    fn volume(&self, node: &str, path: &str) -> Option<super::model::Volume> {
        let volid = Self::volid_of_path(path)?;
        let storage = volid.split(':').next()?.to_string();
        let m = self.shared.lock();
        m.volumes(&storage, node)
            .iter()
            .find(|v| v.volid == volid)
            .cloned()
    }

    fn archive_check(&self, node: &str, tool: &str, path: &str) -> HostOutput {
        let Some(v) = self.volume(node, path) else {
            return out(
                1,
                "",
                format!("{tool}: {path}: No such file or directory\n"),
            );
        };
        let file = path.rsplit('/').next().unwrap_or(path);
        if self.state().corrupt.contains(file) {
            return match tool {
                "zstd" => out(1, "", format!("zstd: {path}: unexpected end of file \n")),
                "gzip" => out(1, "", format!("gzip: {path}: unexpected end of file\n")),
                "lzop" => out(1, "", format!("lzop: {path}: Compressed data violation\n")),
                _ => out(
                    2,
                    "",
                    "tar: Unexpected EOF in archive\ntar: Error is not recoverable: exiting now\n",
                ),
            };
        }
        let _ = v;
        out(0, "", "")
    }

    /// Simulated `bash -c CMD`: `exit N` in the command decides the status.
    fn shell(cmd: &str) -> i32 {
        cmd.split([';', '&', '|'])
            .filter_map(|part| part.trim().strip_prefix("exit "))
            .filter_map(|n| n.trim().parse::<i32>().ok())
            .next()
            .unwrap_or(0)
    }

    async fn upgrade(&self, cmd: &str, lines: Option<mpsc::UnboundedSender<String>>) -> HostOutput {
        let scale = self.shared.lock().time_scale;
        let code = Self::shell(cmd);
        let script = [
            "Hit:1 http://deb.debian.org/debian bookworm InRelease",
            "Hit:2 http://download.proxmox.com/debian/pve bookworm InRelease",
            "Reading package lists...",
            "Building dependency tree...",
            "Calculating upgrade...",
            "The following packages will be upgraded:",
            "  proxmox-kernel-6.8 pve-manager pve-qemu-kvm",
            "3 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
            "Setting up pve-qemu-kvm (9.2.0-5) ...",
            "Setting up proxmox-kernel-6.8 (6.8.12-9) ...",
            "Setting up pve-manager (8.4.1) ...",
        ];
        let mut stdout = String::new();
        let upto = if code == 0 { script.len() } else { 8 };
        for l in &script[..upto] {
            if scale > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(0.5 * scale)).await;
            }
            if let Some(tx) = &lines {
                let _ = tx.send(l.to_string());
            }
            stdout.push_str(l);
            stdout.push('\n');
        }
        let stderr = if code == 0 {
            String::new()
        } else {
            "E: Sub-process /usr/bin/dpkg returned an error code (1)\n".to_string()
        };
        if let (Some(tx), false) = (&lines, stderr.is_empty()) {
            let _ = tx.send(stderr.trim().to_string());
        }
        out(code, stdout, stderr)
    }

    async fn dispatch(
        &self,
        node: &str,
        cmd: &HostCommand,
        lines: Option<mpsc::UnboundedSender<String>>,
    ) -> HostOutput {
        let a = &cmd.args;
        let last = a.last().cloned().unwrap_or_default();
        match cmd.program.as_str() {
            "lvs" => out(0, self.lvs_json(node), ""),
            "lvcreate" => self.lvcreate(node, a),
            "lvconvert" => self.lvconvert(node, a),
            "lvremove" => self.lvremove(node, a),
            "env" => {
                let c = a
                    .iter()
                    .position(|x| x == "-c")
                    .and_then(|i| a.get(i + 1))
                    .cloned()
                    .unwrap_or_default();
                self.upgrade(&c, lines).await
            }
            "bash" if a.first().map(String::as_str) == Some("-c") => {
                let code = Self::shell(a.get(1).map(String::as_str).unwrap_or(""));
                out(
                    code,
                    "",
                    if code == 0 {
                        String::new()
                    } else {
                        format!("check failed (exit {code})\n")
                    },
                )
            }
            "bash" => {
                // `bash -o pipefail -c SCRIPT proxdeck PARAMS...`: the structure checks.
                let params: Vec<&str> = a.iter().skip(5).map(String::as_str).collect();
                let path = params.last().copied().unwrap_or("");
                let tool = params.first().copied().unwrap_or("tar");
                let check =
                    self.archive_check(node, if params.len() > 1 { "tar" } else { tool }, path);
                if check.ok() {
                    let members = self
                        .volume(node, path)
                        .map(|v| 200 + v.size % 5000)
                        .unwrap_or(0);
                    out(0, format!("{members}\n"), "")
                } else {
                    check
                }
            }
            "pvesm" => match Self::volid_storage_path(&last) {
                Some(p) => out(0, format!("{p}\n"), ""),
                None => out(255, "", format!("unable to parse volume ID '{last}'\n")),
            },
            "stat" => match self.volume(node, &last) {
                Some(v) => out(0, format!("{}\n", v.size), ""),
                None => out(
                    1,
                    "",
                    format!("stat: cannot statx '{last}': No such file or directory\n"),
                ),
            },
            "zstd" | "gzip" | "lzop" => self.archive_check(node, &cmd.program, &last),
            "vma" => out(0, "", ""),
            "sha256sum" => match self.volume(node, &last) {
                Some(v) => {
                    let file = last.rsplit('/').next().unwrap_or(&last);
                    let d = ring::digest::digest(
                        &ring::digest::SHA256,
                        format!("{file}:{}", v.size).as_bytes(),
                    );
                    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
                    out(0, format!("{hex} *{last}\n"), "")
                }
                None => out(
                    1,
                    "",
                    format!("sha256sum: {last}: No such file or directory\n"),
                ),
            },
            "rm" => out(0, "", ""),
            other => out(
                127,
                "",
                format!("bash: line 1: {other}: command not found\n"),
            ),
        }
    }

    fn volid_storage_path(volid: &str) -> Option<String> {
        let (storage, rest) = volid.split_once(':')?;
        let file = rest.strip_prefix("backup/")?;
        Some(format!("{}/dump/{file}", Self::storage_base(storage)))
    }
}

impl HostRunner for SimHost {
    fn run<'a>(
        &'a self,
        node: &'a str,
        cmd: &'a HostCommand,
        lines: Option<mpsc::UnboundedSender<String>>,
    ) -> BoxFuture<'a, Result<HostOutput, HostError>> {
        async move {
            if !self.reaches(node) {
                return Err(HostError::NoAccess { node: node.into() });
            }
            if !self.online(node) {
                return Err(HostError::Connect {
                    node: node.into(),
                    message: format!("ssh: connect to host {node} port 22: No route to host"),
                });
            }
            let o = self.dispatch(node, cmd, lines).await;
            Ok(o)
        }
        .boxed()
    }

    fn copy<'a>(
        &'a self,
        from_node: &'a str,
        from_path: &'a str,
        to_node: &'a str,
        to_path: &'a str,
    ) -> BoxFuture<'a, Result<u64, HostError>> {
        async move {
            let v = self
                .volume(from_node, from_path)
                .ok_or_else(|| HostError::Failed {
                    node: from_node.into(),
                    command: "cat".into(),
                    code: Some(1),
                    message: format!("cat: {from_path}: No such file or directory"),
                })?;
            let volid = Self::volid_of_path(to_path).ok_or_else(|| HostError::Failed {
                node: to_node.into(),
                command: "cat".into(),
                code: Some(1),
                message: format!("{to_path}: not a backup directory"),
            })?;
            let storage = volid.split(':').next().unwrap_or_default().to_string();
            let mut m = self.shared.lock();
            let list = m.volumes_mut(&storage, to_node);
            list.retain(|x| x.volid != volid);
            let mut copy = v.clone();
            copy.volid = volid;
            copy.protected = false;
            list.push(copy);
            Ok(v.size)
        }
        .boxed()
    }

    fn reaches(&self, node: &str) -> bool {
        self.shared.lock().nodes.contains_key(node)
    }
}
