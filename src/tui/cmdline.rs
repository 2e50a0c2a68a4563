//! The `:` command line: the console's own words (panes, `:ip`, `:approve`,
//! `:theme`, `:q`...) and every action of the engine's grammar, with the
//! same words and errors as `proxdeck plan ...`; completion of the word
//! being typed comes from the grammar too.

use super::error::ConsoleError;
use super::panes::PaneId;
use super::state::State;
use super::theme::Theme;
use crate::engine::grammar::complete::Values;
use crate::engine::grammar::{self, ActionLine, Resolver};
use crate::engine::{Action, ActionState};

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
    Propose {
        action: Action,
        reason: Option<String>,
    },
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

/// The console's own words, with a usage line each (shown when the command
/// is wrong and in the help). Actions come from the grammar.
pub const COMMANDS: &[(&str, &str)] = &[
    ("resources", ":resources"),
    ("snapshots", ":snapshots"),
    ("backups", ":backups"),
    ("ip", ":ip [NODE]"),
    ("replication", ":replication"),
    ("approvals", ":approvals"),
    ("tasks", ":tasks"),
    ("approve", ":approve ID"),
    ("reject", ":reject ID REASON..."),
    ("cancel", ":cancel ID"),
    ("filter", ":filter TEXT (~regex)"),
    ("theme", ":theme NAME"),
    ("refresh", ":refresh"),
    ("help", ":help"),
    ("q", ":q (quit; :q! without asking)"),
];

/// Usage lines of every action of the grammar (`:replicate <GUEST> --to ...`).
pub fn action_usages() -> Vec<String> {
    use clap::CommandFactory;
    let mut root = ActionLine::command();
    root.build();
    root.get_subcommands()
        .map(|c| {
            let usage = c.clone().render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ").replace("action ", "");
            format!(":{usage}")
        })
        .collect()
}

fn cmd_usage(word: &str) -> ConsoleError {
    ConsoleError::Command(
        COMMANDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, u)| format!("usage: {u}"))
            .unwrap_or_default(),
    )
}

/// Parse a command line (without the `:`).
pub fn parse(s: &State, line: &str) -> Result<Command, ConsoleError> {
    let words = grammar::words::split(line).map_err(ConsoleError::Command)?;
    let Some(first) = words.first().map(String::as_str) else {
        return Err(ConsoleError::Command(
            "type a command; Tab completes".into(),
        ));
    };
    let arg = |i: usize| words.get(i).map(String::as_str);
    let cmd = match first {
        "q" | "quit" | "exit" => Command::Quit { force: false },
        "q!" | "quit!" => Command::Quit { force: true },
        "help" | "?" => Command::Help,
        "refresh" => Command::Refresh,
        "ip" => Command::IpMap(arg(1).map(str::to_string)),
        "approve" => Command::Approve(arg(1).ok_or_else(|| cmd_usage("approve"))?.to_string()),
        "reject" => {
            let id = arg(1).ok_or_else(|| cmd_usage("reject"))?.to_string();
            let why = words.get(2..).map(|w| w.join(" ")).unwrap_or_default();
            if why.is_empty() {
                return Err(cmd_usage("reject"));
            }
            Command::Reject { id, why }
        }
        "cancel" => Command::Cancel(arg(1).ok_or_else(|| cmd_usage("cancel"))?.to_string()),
        "filter" => Command::Filter(words.get(1..).map(|w| w.join(" ")).unwrap_or_default()),
        "theme" => Command::Theme(arg(1).ok_or_else(|| cmd_usage("theme"))?.to_string()),
        w if grammar::action_words().iter().any(|a| a == w) => {
            let parsed = ActionLine::parse_words(&words)?;
            let resolver = Resolver {
                config: &s.config,
                inventory: s.world.inv(),
                backups: &s.world.backups.data,
            };
            let action = parsed.action.resolve(&resolver)?;
            Command::Propose {
                action,
                reason: parsed.reason,
            }
        }
        other => match PaneId::parse(other) {
            Some(p) => Command::Pane(p),
            None => {
                return Err(ConsoleError::Command(format!(
                    "unknown command '{other}' (Tab lists them)"
                )));
            }
        },
    };
    Ok(cmd)
}

/// What the console knows, as values for the grammar's completion.
struct StateValues<'a>(&'a State);

impl Values for StateValues<'_> {
    fn guests(&self) -> Vec<String> {
        self.0
            .world
            .inv()
            .guests
            .iter()
            .map(|g| g.name.clone())
            .collect()
    }

    fn nodes(&self) -> Vec<String> {
        let s = self.0;
        let mut n: Vec<String> = s
            .config
            .naming
            .nodes
            .iter()
            .map(|n| n.pve_name.clone())
            .collect();
        if n.is_empty() {
            n = s.world.inv().nodes.iter().map(|n| n.name.clone()).collect();
        }
        n
    }

    fn archives(&self) -> Vec<String> {
        self.0
            .world
            .backups
            .data
            .iter()
            .map(|b| b.file().to_string())
            .collect()
    }

    fn storages(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .world
            .inv()
            .storages
            .iter()
            .map(|s| s.storage.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn snapshots(&self, guest: &str) -> Vec<String> {
        let s = self.0;
        s.world
            .inv()
            .find(guest)
            .and_then(|g| s.world.snapshots.data.guests.get(&g.vmid))
            .map(|l| {
                l.iter()
                    .filter(|x| x.name != "current")
                    .map(|x| x.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn lv_snapshots(&self, node: &str) -> Vec<String> {
        self.0
            .world
            .snapshots
            .data
            .lvm
            .iter()
            .filter(|l| l.node == node || l.node.ends_with(node))
            .map(|l| l.name.clone())
            .collect()
    }
}

/// Candidates for the last word of `line`.
pub fn complete(s: &State, line: &str) -> Vec<String> {
    let ends_with_space = line.ends_with(' ') || line.is_empty();
    let words: Vec<String> = grammar::words::split(line).unwrap_or_default();
    let (done, partial): (Vec<&str>, &str) = if ends_with_space {
        (words.iter().map(String::as_str).collect(), "")
    } else {
        match words.split_last() {
            Some((last, rest)) => (rest.iter().map(String::as_str).collect(), last.as_str()),
            None => (Vec::new(), ""),
        }
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
    let values = StateValues(s);
    let candidates: Vec<String> = match (done.len(), done.first().copied()) {
        (0, _) => {
            let mut w: Vec<String> = COMMANDS.iter().map(|(w, _)| w.to_string()).collect();
            w.extend(grammar::action_words());
            w.sort();
            w
        }
        (1, Some("ip")) => {
            let mut v: Vec<String> = s.config.naming.subnets.keys().cloned().collect();
            v.extend(values.nodes());
            v
        }
        (1, Some("approve" | "reject")) => ids(&[ActionState::PendingApproval]),
        (1, Some("cancel")) => ids(&[
            ActionState::PendingApproval,
            ActionState::Approved,
            ActionState::Running,
        ]),
        (1, Some("theme")) => Theme::names().into_iter().map(str::to_string).collect(),
        (_, Some(w)) if grammar::action_words().iter().any(|a| a == w) => {
            return grammar::complete::complete(&done, partial, &values);
        }
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
