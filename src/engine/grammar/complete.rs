//! Completion of an action line from the grammar itself: the action words,
//! then each action's flags and values. Values are chosen by the argument's
//! value name (`GUEST`, `NODE`, `ARCHIVE`, `SNAPSHOT`, ...), so a new action
//! completes without touching this file.

use clap::{Arg, ArgAction, CommandFactory};

use super::ActionLine;

/// Where completion finds values for each kind of argument.
pub trait Values {
    fn guests(&self) -> Vec<String>;
    fn nodes(&self) -> Vec<String>;
    fn archives(&self) -> Vec<String>;
    fn storages(&self) -> Vec<String>;
    /// Snapshots of a guest (by the name given earlier on the line).
    fn snapshots(&self, guest: &str) -> Vec<String>;
    /// LVM snapshots of a node.
    fn lv_snapshots(&self, node: &str) -> Vec<String>;
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

fn values_for(a: &Arg, words: &[&str], v: &dyn Values) -> Vec<String> {
    let possible: Vec<String> = a
        .get_possible_values()
        .iter()
        .map(|p| p.get_name().to_string())
        .collect();
    if !possible.is_empty() {
        return possible;
    }
    let name = a
        .get_value_names()
        .and_then(|n| n.first())
        .map(|s| s.as_str())
        .unwrap_or("");
    // The first positional (a guest or a node) gives context to later ones.
    let first = words.get(1).copied().unwrap_or("");
    match name {
        "GUEST" => v.guests(),
        "NODE" => v.nodes(),
        "NODES" => {
            let mut n = vec!["all".to_string()];
            n.extend(v.nodes());
            n
        }
        "ARCHIVE" => v.archives(),
        "STORAGE" => v.storages(),
        "SNAPSHOT" => v.snapshots(first),
        "LVSNAPSHOT" => v.lv_snapshots(first),
        _ => Vec::new(),
    }
}

/// Candidates for the word being typed: `words` are the complete words
/// before it (the action word first), `partial` what is typed of it.
pub fn complete(words: &[&str], partial: &str, v: &dyn Values) -> Vec<String> {
    let root = ActionLine::command();
    let Some(first) = words.first() else {
        return super::action_words()
            .into_iter()
            .filter(|w| w.starts_with(partial))
            .collect();
    };
    let Some(cmd) = root.find_subcommand(first) else {
        return Vec::new();
    };
    let args: Vec<&Arg> = cmd
        .get_arguments()
        .chain(root.get_arguments())
        .filter(|a| !a.is_hide_set())
        .collect();
    let long = |w: &str| {
        w.strip_prefix("--")
            .and_then(|l| args.iter().find(|a| a.get_long() == Some(l)).copied())
    };
    // What the previous words used up: flags seen, and positionals filled.
    let mut used_flags = Vec::new();
    let mut positionals = 0;
    let mut i = 1;
    while i < words.len() {
        match long(words[i]) {
            Some(a) => {
                used_flags.push(a.get_id().to_string());
                if takes_value(a) {
                    i += 1;
                }
            }
            None => positionals += 1,
        }
        i += 1;
    }
    // A flag waiting for its value.
    if let Some(prev) = words.last().and_then(|w| long(w))
        && takes_value(prev)
        && words.len() > 1
    {
        return values_for(prev, words, v)
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .collect();
    }
    let flags = || {
        args.iter()
            .filter(|a| !a.is_positional())
            .filter(|a| !used_flags.contains(&a.get_id().to_string()))
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .filter(|f| f.starts_with(partial))
            .collect::<Vec<_>>()
    };
    if partial.starts_with('-') {
        return flags();
    }
    let positional = args
        .iter()
        .filter(|a| a.is_positional())
        .nth(positionals)
        .copied();
    match positional {
        Some(a) => values_for(a, words, v)
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .collect(),
        None => flags(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Values for Fixed {
        fn guests(&self) -> Vec<String> {
            vec!["pve-db-01".into(), "pve-web-01".into()]
        }
        fn nodes(&self) -> Vec<String> {
            vec!["pve-node-01".into(), "pve-node-02".into()]
        }
        fn archives(&self) -> Vec<String> {
            vec!["vzdump-lxc-105-2026_01_28-10_00_00.tar.zst".into()]
        }
        fn storages(&self) -> Vec<String> {
            vec!["local".into()]
        }
        fn snapshots(&self, guest: &str) -> Vec<String> {
            if guest == "pve-db-01" {
                vec!["pre-fix".into()]
            } else {
                Vec::new()
            }
        }
        fn lv_snapshots(&self, _: &str) -> Vec<String> {
            vec!["pre-upgrade-2026-12-04".into()]
        }
    }

    #[test]
    fn completes_words_flags_and_values_from_the_grammar() {
        assert!(complete(&[], "rep", &Fixed).contains(&"replicate".to_string()));
        assert_eq!(complete(&["replicate"], "pve-d", &Fixed), vec!["pve-db-01"]);
        assert_eq!(
            complete(&["replicate", "pve-db-01", "--to"], "", &Fixed),
            vec!["all", "pve-node-01", "pve-node-02"]
        );
        let flags = complete(&["replicate", "pve-db-01"], "--", &Fixed);
        assert!(flags.contains(&"--to".to_string()), "{flags:?}");
        assert!(flags.contains(&"--reason".to_string()), "{flags:?}");
        assert_eq!(
            complete(&["rollback", "pve-db-01"], "", &Fixed),
            vec!["pre-fix"]
        );
        assert_eq!(
            complete(&["backup", "pve-db-01", "--mode"], "s", &Fixed),
            vec!["snapshot", "suspend", "stop"]
        );
        assert_eq!(
            complete(&["restore", "--to", "pve-node-02"], "", &Fixed),
            vec!["vzdump-lxc-105-2026_01_28-10_00_00.tar.zst"]
        );
        assert!(complete(&["nonsense"], "", &Fixed).is_empty());
    }
}
