//! The `:` command line: what can be typed, what it does, and completion of
//! the word being typed.

use std::net::Ipv4Addr;

use super::pane::PaneId;
use super::state::State;
use super::theme::Theme;
use crate::engine::{Action, ActionState, Targets};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit {
        force: bool,
    },
    Help,
    Pane(PaneId),
    /// `:ip NODE`
    IpMap(Option<String>),
    Propose(Action),
    Approve(String),
    Reject {
        id: String,
        why: String,
    },
    Cancel(String),
    Filter(String),
    Theme(String),
    Refresh,
}

/// Command words, with a usage line each (shown when the command is wrong).
pub const COMMANDS: &[(&str, &str)] = &[
    ("resources", ":resources"),
    ("snapshots", ":snapshots"),
    ("backups", ":backups"),
    ("ip", ":ip [NODE]"),
    ("replication", ":replication"),
    ("approvals", ":approvals"),
    ("tasks", ":tasks"),
    ("replicate", ":replicate GUEST [all|NODE...]"),
    ("clone", ":clone GUEST NODE [ROLE]"),
    ("snapshot", ":snapshot GUEST [NAME]"),
    ("rollback", ":rollback GUEST SNAPSHOT"),
    ("assign-ip", ":assign-ip GUEST [IP]"),
    ("backup", ":backup GUEST [STORAGE]"),
    ("verify", ":verify ARCHIVE"),
    ("restore", ":restore ARCHIVE NODE"),
    ("lvm-snapshot", ":lvm-snapshot NODE [VG/LV]"),
    ("lvm-cleanup", ":lvm-cleanup [NODE]"),
    ("upgrade", ":upgrade NODE"),
    ("approve", ":approve ID"),
    ("reject", ":reject ID REASON..."),
    ("cancel", ":cancel ID"),
    ("filter", ":filter TEXT (~regex)"),
    ("theme", ":theme NAME"),
    ("refresh", ":refresh"),
    ("help", ":help"),
    ("q", ":q (quit; :q! without asking)"),
];

fn usage(word: &str) -> String {
    COMMANDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, u)| format!("usage: {u}"))
        .unwrap_or_default()
}

fn guest(s: &State, which: Option<&str>, word: &str) -> Result<crate::engine::GuestSel, String> {
    let which = which.ok_or_else(|| usage(word))?;
    s.world
        .inv()
        .find(which)
        .map(super::intents::sel)
        .ok_or_else(|| format!("no guest named or numbered '{which}'"))
}

/// Parse a command line (without the `:`).
pub fn parse(s: &State, line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Err("type a command; Tab completes".into());
    };
    let arg = |i: usize| words.get(i).copied();
    let cmd = match *first {
        "q" | "quit" | "exit" => Command::Quit { force: false },
        "q!" | "quit!" => Command::Quit { force: true },
        "help" | "?" => Command::Help,
        "refresh" => Command::Refresh,
        "ip" => Command::IpMap(arg(1).map(str::to_string)),
        "replicate" => {
            let source = guest(s, arg(1), "replicate")?;
            let targets = match &words[2.min(words.len())..] {
                [] | ["all"] => Targets::All,
                nodes => Targets::Nodes(nodes.iter().map(|n| n.to_string()).collect()),
            };
            Command::Propose(Action::Replicate {
                source,
                targets,
                start: false,
            })
        }
        "clone" => {
            let source = guest(s, arg(1), "clone")?;
            let node = arg(2).ok_or_else(|| usage("clone"))?;
            Command::Propose(Action::CloneGuest {
                source,
                target_node: node.to_string(),
                role: arg(3).map(str::to_string),
                start: false,
            })
        }
        "snapshot" => Command::Propose(Action::CreateGuestSnapshot {
            guest: guest(s, arg(1), "snapshot")?,
            name: arg(2).map(str::to_string),
            description: None,
            vmstate: false,
        }),
        "rollback" => {
            let g = guest(s, arg(1), "rollback")?;
            let snap = arg(2).ok_or_else(|| usage("rollback"))?;
            let running = s.world.inv().guest(g.vmid).is_some_and(|x| x.is_running());
            Command::Propose(Action::RollbackGuestSnapshot {
                guest: g,
                snapshot: snap.to_string(),
                start: running,
            })
        }
        "assign-ip" => {
            let g = guest(s, arg(1), "assign-ip")?;
            let ip = match arg(2) {
                Some(t) => Some(
                    t.parse::<Ipv4Addr>()
                        .map_err(|_| format!("'{t}' is not an IPv4 address"))?,
                ),
                None => None,
            };
            Command::Propose(Action::AssignStaticIp {
                guest: g,
                ip,
                mac: None,
                hostname: None,
            })
        }
        "backup" => {
            let g = guest(s, arg(1), "backup")?;
            let storage = match arg(2) {
                Some(st) => st.to_string(),
                None => s
                    .world
                    .inv()
                    .storages
                    .iter()
                    .find(|st| st.node == g.node && st.content.iter().any(|c| c == "backup"))
                    .map(|st| st.storage.clone())
                    .ok_or_else(|| format!("{} has no backup storage", g.node))?,
            };
            Command::Propose(Action::CreateBackup {
                guest: g,
                storage,
                mode: "snapshot".into(),
                compress: "zstd".into(),
                notes: None,
                verify: s.world.host_access,
                sync: false,
                prune: false,
            })
        }
        "verify" | "restore" => {
            let which = arg(1).ok_or_else(|| usage(first))?;
            let b = s
                .world
                .backups
                .data
                .iter()
                .find(|b| b.content.volid == which || b.file() == which)
                .ok_or_else(|| format!("no archive {which} (see the Backups pane)"))?;
            let g = b
                .content
                .vmid
                .and_then(|v| s.world.inv().guest(v))
                .map(super::intents::sel);
            if *first == "verify" {
                Command::Propose(Action::VerifyBackup {
                    volid: b.content.volid.clone(),
                    node: b.node.clone(),
                    guest: g,
                })
            } else {
                let to = arg(2).ok_or_else(|| usage("restore"))?;
                let a = crate::backup::archive::parse(&b.content.volid)
                    .ok_or_else(|| format!("{which} is not a vzdump archive"))?;
                let kind = crate::pve::GuestKind::parse(&a.guest_type)
                    .ok_or_else(|| format!("cannot restore a {} backup", a.guest_type))?;
                Command::Propose(Action::RestoreBackup {
                    volid: b.content.volid.clone(),
                    node: b.node.clone(),
                    target_node: to.to_string(),
                    new_name: None,
                    new_ip: None,
                    new_mac: None,
                    start: false,
                    snapshot_target: false,
                    guest: g,
                    kind,
                })
            }
        }
        "lvm-snapshot" => Command::Propose(Action::CreateLvmSnapshot {
            node: arg(1).ok_or_else(|| usage("lvm-snapshot"))?.to_string(),
            volume: arg(2).map(str::to_string),
            name: None,
            size: None,
            description: None,
        }),
        "lvm-cleanup" => Command::Propose(Action::CleanupLvmSnapshots {
            node: arg(1).map(str::to_string),
        }),
        "upgrade" => Command::Propose(Action::GuardedHostUpgrade {
            node: arg(1).ok_or_else(|| usage("upgrade"))?.to_string(),
            command: None,
        }),
        "approve" => Command::Approve(arg(1).ok_or_else(|| usage("approve"))?.to_string()),
        "reject" => {
            let id = arg(1).ok_or_else(|| usage("reject"))?.to_string();
            let why = words.get(2..).map(|w| w.join(" ")).unwrap_or_default();
            if why.is_empty() {
                return Err(usage("reject"));
            }
            Command::Reject { id, why }
        }
        "cancel" => Command::Cancel(arg(1).ok_or_else(|| usage("cancel"))?.to_string()),
        "filter" => Command::Filter(words.get(1..).map(|w| w.join(" ")).unwrap_or_default()),
        "theme" => Command::Theme(arg(1).ok_or_else(|| usage("theme"))?.to_string()),
        other => match PaneId::parse(other) {
            Some(p) => Command::Pane(p),
            None => return Err(format!("unknown command '{other}' (Tab lists them)")),
        },
    };
    Ok(cmd)
}

/// Candidates for the last word of `line`.
pub fn complete(s: &State, line: &str) -> Vec<String> {
    let ends_with_space = line.ends_with(' ');
    let words: Vec<&str> = line.split_whitespace().collect();
    let (index, partial) = if ends_with_space || words.is_empty() {
        (words.len(), "")
    } else {
        (words.len() - 1, words[words.len() - 1])
    };
    let inv = s.world.inv();
    let guests = || {
        inv.guests
            .iter()
            .map(|g| g.name.clone())
            .collect::<Vec<_>>()
    };
    let nodes = || {
        let mut n: Vec<String> = s
            .config
            .naming
            .nodes
            .iter()
            .map(|n| n.pve_name.clone())
            .collect();
        if n.is_empty() {
            n = inv.nodes.iter().map(|n| n.name.clone()).collect();
        }
        n
    };
    let ids = |states: &[ActionState]| {
        s.world
            .actions
            .data
            .iter()
            .filter(|a| states.contains(&a.record.state))
            .map(|a| a.record.id.clone())
            .collect::<Vec<_>>()
    };
    let candidates: Vec<String> = match (index, words.first().copied()) {
        (0, _) => COMMANDS.iter().map(|(w, _)| w.to_string()).collect(),
        (1, Some("replicate" | "clone" | "snapshot" | "rollback" | "assign-ip" | "backup")) => {
            guests()
        }
        (1, Some("lvm-snapshot" | "lvm-cleanup" | "upgrade")) => nodes(),
        (1, Some("verify" | "restore")) => s
            .world
            .backups
            .data
            .iter()
            .map(|b| b.file().to_string())
            .collect(),
        (2, Some("restore")) => nodes(),
        (1, Some("ip")) => {
            let mut v: Vec<String> = s.config.naming.subnets.keys().cloned().collect();
            v.extend(nodes());
            v
        }
        (1, Some("approve" | "reject")) => ids(&[ActionState::PendingApproval]),
        (1, Some("cancel")) => ids(&[
            ActionState::PendingApproval,
            ActionState::Approved,
            ActionState::Running,
        ]),
        (1, Some("theme")) => Theme::names().into_iter().map(str::to_string).collect(),
        (_, Some("replicate")) if index >= 2 => {
            let mut v = vec!["all".to_string()];
            v.extend(nodes());
            v
        }
        (2, Some("clone")) => nodes(),
        (2, Some("rollback")) => words
            .get(1)
            .and_then(|g| inv.find(g))
            .and_then(|g| s.world.snapshots.data.guests.get(&g.vmid))
            .map(|l| {
                l.iter()
                    .filter(|x| x.name != "current")
                    .map(|x| x.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    candidates
        .into_iter()
        .filter(|c| c.starts_with(partial))
        .collect()
}

/// The longest start all candidates share.
pub fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(end);
    }
    first[..end].to_string()
}

/// `line` with its last word replaced by `word` (and a space after).
pub fn apply_completion(line: &str, word: &str) -> String {
    let base = if line.ends_with(' ') || line.is_empty() {
        line.to_string()
    } else {
        match line.rfind(' ') {
            Some(i) => line[..=i].to_string(),
            None => String::new(),
        }
    };
    format!("{base}{word} ")
}
