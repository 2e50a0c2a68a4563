//! vzdump's retention as Proxmox applies it during a backup
//! (pve-manager `PVE/VZDump.pm`): the job's `prune-backups`, else the
//! storage's, else keep everything; `remove` (default 1) prunes the guest's
//! group after the backup, `keep-all` turns it off; with a limit and no
//! removal, a backup that would exceed the limit is refused before it starts.
//! Also the check of a notes template (`verify_notes_template`).

use crate::backup::prune::{self, Candidate, Mark};
use crate::config::operations::KeepRules;
use crate::pve::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::Model;

/// A `prune-backups` value read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub keep_all: bool,
    pub rules: KeepRules,
}

impl Retention {
    /// Parse `keep-last=2,keep-daily=7` or `keep-all=1`.
    pub fn parse(text: &str, field: &str) -> Result<Retention, ApiError> {
        let mut r = Retention::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                ApiError::param(field, format!("invalid format - missing value in '{part}'"))
            })?;
            let n: u32 = value.parse().map_err(|_| {
                ApiError::param(
                    field,
                    format!("invalid format - type check ('integer') failed - got '{value}'"),
                )
            })?;
            match key {
                "keep-all" => r.keep_all = n == 1,
                "keep-last" => r.rules.last = n,
                "keep-hourly" => r.rules.hourly = n,
                "keep-daily" => r.rules.daily = n,
                "keep-weekly" => r.rules.weekly = n,
                "keep-monthly" => r.rules.monthly = n,
                "keep-yearly" => r.rules.yearly = n,
                other => {
                    return Err(ApiError::param(
                        field,
                        format!("invalid format - property '{other}' not allowed"),
                    ));
                }
            }
        }
        if r.keep_all && !r.rules.is_empty() {
            return Err(ApiError::param(
                field,
                "keep-all cannot be set together with other options.",
            ));
        }
        Ok(r)
    }

    /// What `keep-*` adds up to: vzdump's "max backup limit" (0: none).
    pub fn limit(&self) -> u32 {
        if self.keep_all {
            return 0;
        }
        let k = self.rules;
        k.last + k.hourly + k.daily + k.weekly + k.monthly + k.yearly
    }

    /// `keep-last=2, keep-daily=3` as vzdump logs it (keys sorted).
    pub fn describe(&self) -> String {
        if self.keep_all {
            return "keep-all=1".into();
        }
        let k = self.rules;
        let mut parts: Vec<(&str, u32)> = vec![
            ("keep-daily", k.daily),
            ("keep-hourly", k.hourly),
            ("keep-last", k.last),
            ("keep-monthly", k.monthly),
            ("keep-weekly", k.weekly),
            ("keep-yearly", k.yearly),
        ];
        parts.retain(|(_, v)| *v > 0);
        parts
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a backup job does about retention for one storage.
#[derive(Debug, Clone, Copy)]
pub struct JobRetention {
    pub retention: Retention,
    pub remove: bool,
}

/// The job's retention: its own `prune-backups`, else the storage's; `remove`
/// as given (default 1), off under `keep-all`.
pub fn job_retention(
    model: &Model,
    storage: &str,
    given: Option<&str>,
    remove: Option<bool>,
) -> Result<JobRetention, ApiError> {
    let retention = match given {
        Some(text) => Retention::parse(text, "prune-backups")?,
        None => match model
            .storages
            .iter()
            .find(|s| s.id == storage)
            .and_then(|s| s.prune_backups.clone())
        {
            Some(text) => Retention::parse(&text, "prune-backups")?,
            None => Retention {
                keep_all: true,
                ..Retention::default()
            },
        },
    };
    let remove = remove.unwrap_or(true) && !retention.keep_all;
    Ok(JobRetention { retention, remove })
}

/// vzdump's refusal when keeping one more backup would pass the limit and
/// nothing will be removed (`($backup_limit && !$opts->{remove})`).
pub fn check_limit(
    model: &Model,
    job: &JobRetention,
    storage: &str,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<(), String> {
    let limit = job.retention.limit();
    if limit == 0 || job.remove {
        return Ok(());
    }
    let count = model
        .volumes(storage, node)
        .iter()
        .filter(|v| v.content == "backup" && v.vmid == Some(vmid))
        .filter(|v| v.subtype.is_none_or(|k| k == kind))
        .filter(|v| !v.protected)
        .count();
    if count as u32 >= limit {
        return Err(format!(
            "There is a max backup limit of {limit} enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups."
        ));
    }
    Ok(())
}

/// Prune a guest's group after its backup; the log lines vzdump writes.
pub fn prune_after_backup(
    model: &mut Model,
    job: &JobRetention,
    storage: &str,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Vec<String> {
    if !job.remove {
        return Vec::new();
    }
    let zone = model
        .nodes
        .get(node)
        .map(|n| n.zone())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let mut lines = vec![format!(
        "INFO: prune older backups with retention: {}",
        job.retention.describe()
    )];
    let group = format!("{kind}/{vmid}");
    let candidates: Vec<Candidate> = model
        .volumes(storage, node)
        .iter()
        .filter(|v| v.content == "backup" && v.vmid == Some(vmid))
        .map(|v| Candidate::of(&v.volid, v.ctime, v.protected, &zone))
        .filter(|c| c.group.as_deref() == Some(group.as_str()))
        .collect();
    let remove: Vec<String> = prune::mark(&candidates, &job.retention.rules, &zone)
        .into_iter()
        .filter(|(_, m)| *m == Mark::Remove)
        .map(|(c, _)| c.id)
        .collect();
    for volid in &remove {
        lines.push(format!("INFO: removing backup '{volid}'"));
    }
    model
        .volumes_mut(storage, node)
        .retain(|v| !remove.contains(&v.volid));
    lines.push(format!(
        "INFO: pruned {} backup(s){}",
        remove.len(),
        if remove.is_empty() {
            ""
        } else {
            " not covered by keep-retention policy"
        }
    ));
    lines
}

/// vzdump's check of a notes template: no line feed, no escape but `\n` and
/// `\\`, no variable but cluster, guestname, node and vmid.
pub fn verify_notes_template(template: &str) -> Result<(), String> {
    if template.contains('\n') {
        return Err("contains a line feed".into());
    }
    let mut problems = Vec::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\'
            && let Some(&c) = chars.get(i + 1)
        {
            if c != 'n' && c != '\\' {
                problems.push(format!("escape sequence '\\{c}' at char {i}"));
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    let mut at = 0;
    while let Some(open) = template[at..].find("{{") {
        let start = at + open + 2;
        let name_len = template[start..]
            .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
            .unwrap_or(template.len() - start);
        let name = &template[start..start + name_len];
        if !name.is_empty() && template[start + name_len..].starts_with("}}") {
            if !crate::pve::requests::NOTES_VARIABLES.contains(&name) {
                problems.push(format!("variable '{name}' at char {}", start + 2));
            }
            at = start + name_len + 2;
        } else {
            at = at + open + 1;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("found unknown: {}", problems.join(", ")))
    }
}

/// Fill a verified template as vzdump does: escapes first (`\\n` → line
/// feed, `\\\\` → backslash), then the variables.
pub fn fill_notes(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}
