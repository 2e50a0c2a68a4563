//! Requests about backups and storages: vzdump, storage listings, volume
//! notes, protection and deletion, and restores.

use super::super::endpoints::*;
use super::super::request::ApiRequest;
use super::super::types::GuestKind;
use super::node;

/// vzdump's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupMode {
    Snapshot,
    Suspend,
    Stop,
}

impl BackupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupMode::Snapshot => "snapshot",
            BackupMode::Suspend => "suspend",
            BackupMode::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<BackupMode> {
        match s {
            "snapshot" => Some(BackupMode::Snapshot),
            "suspend" => Some(BackupMode::Suspend),
            "stop" => Some(BackupMode::Stop),
            _ => None,
        }
    }
}

/// vzdump's compression choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Lzo,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "0",
            Compression::Lzo => "lzo",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "0" | "none" => Some(Compression::None),
            "1" | "lzo" => Some(Compression::Lzo),
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VzdumpOptions {
    pub vmids: Vec<u32>,
    pub mode: Option<BackupMode>,
    pub storage: Option<String>,
    pub compress: Option<Compression>,
    /// `{{guestname}}`, `{{vmid}}`, `{{node}}`, `{{cluster}}` are filled in;
    /// make one from a text with [`notes_template`].
    pub notes_template: Option<String>,
    pub protected: Option<bool>,
    /// Retention vzdump applies after the backup; None sends `keep-all=1`.
    pub prune_backups: Option<String>,
    pub bwlimit: Option<u64>,
}

/// The retention that removes nothing.
pub const KEEP_ALL: &str = "keep-all=1";

/// The variables vzdump fills into a notes template.
pub const NOTES_VARIABLES: [&str; 4] = ["cluster", "guestname", "node", "vmid"];

/// vzdump's `notes-template` for a text meant literally: backslashes doubled
/// and line feeds written `\n` (vzdump refuses a raw line feed and any other
/// escape). `{{cluster}}`, `{{guestname}}`, `{{node}}` and `{{vmid}}` stay
/// variables; any other `{{word}}` is refused here, as vzdump would refuse it.
pub fn notes_template(text: &str) -> Result<String, String> {
    static VARIABLE: std::sync::LazyLock<Option<regex_lite::Regex>> =
        std::sync::LazyLock::new(|| regex_lite::Regex::new(r"\{\{([^\s{}]+)\}\}").ok());
    let unknown: Vec<String> = VARIABLE
        .as_ref()
        .map(|re| {
            re.captures_iter(text)
                .filter_map(|c| c.get(1).map(|m| m.as_str()))
                .filter(|v| !NOTES_VARIABLES.contains(v))
                .map(|v| format!("{{{{{v}}}}}"))
                .collect()
        })
        .unwrap_or_default();
    if !unknown.is_empty() {
        return Err(format!(
            "{} {} not a variable vzdump fills in (it knows {})",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            NOTES_VARIABLES.join(", ")
        ));
    }
    Ok(text
        .replace('\\', "\\\\")
        .replace("\r\n", "\n")
        .replace('\n', "\\n"))
}

pub fn vzdump(n: &str, o: &VzdumpOptions) -> ApiRequest {
    let vmids = (!o.vmids.is_empty()).then(|| {
        o.vmids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    node(&VZDUMP, n)
        .opt_str("vmid", vmids)
        .opt_str("mode", o.mode.map(|m| m.as_str()))
        .opt_str("storage", o.storage.clone())
        .opt_str("compress", o.compress.map(|c| c.as_str()))
        .opt_str("notes-template", o.notes_template.clone())
        .opt_bool("protected", o.protected)
        // vzdump prunes by the storage's own retention unless told
        // otherwise (`remove` defaults to 1): proxdeck's backups must never
        // delete someone's backups. `keep-all=1` also turns `remove` off
        // without tripping vzdump's "max backup limit" check.
        .str(
            "prune-backups",
            o.prune_backups
                .clone()
                .unwrap_or_else(|| KEEP_ALL.to_string()),
        )
        .opt_int("bwlimit", o.bwlimit.map(|b| b as i64))
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageQuery {
    pub content: Option<String>,
    pub enabled: Option<bool>,
    /// Only storages shared with this node.
    pub target: Option<String>,
}

pub fn storages(n: &str, q: &StorageQuery) -> ApiRequest {
    node(&STORAGE_LIST, n)
        .opt_str("content", q.content.clone())
        .opt_bool("enabled", q.enabled)
        .opt_str("target", q.target.clone())
}

pub fn storage_content(
    n: &str,
    storage: &str,
    content: Option<&str>,
    vmid: Option<u32>,
) -> ApiRequest {
    node(&STORAGE_CONTENT, n)
        .at("storage", storage)
        .opt_str("content", content)
        .opt_int("vmid", vmid)
}

pub fn volume_update(
    n: &str,
    storage: &str,
    volid: &str,
    notes: Option<&str>,
    protected: Option<bool>,
) -> ApiRequest {
    node(&VOLUME_UPDATE, n)
        .at("storage", storage)
        .at("volume", volid)
        .opt_str("notes", notes)
        .opt_bool("protected", protected)
}

pub fn volume_delete(n: &str, storage: &str, volid: &str, delay: Option<u32>) -> ApiRequest {
    node(&VOLUME_DELETE, n)
        .at("storage", storage)
        .at("volume", volid)
        .opt_int("delay", delay)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreOptions {
    pub vmid: u32,
    /// The backup volid (qemu `archive`, lxc `ostemplate` with `restore=1`).
    pub archive: String,
    pub storage: Option<String>,
    pub force: Option<bool>,
    /// New random MACs.
    pub unique: Option<bool>,
    pub start: Option<bool>,
    pub pool: Option<String>,
    pub bwlimit: Option<u64>,
}

pub fn restore(n: &str, kind: GuestKind, o: &RestoreOptions) -> ApiRequest {
    match kind {
        GuestKind::Qemu => node(&QEMU_CREATE, n)
            .int("vmid", o.vmid)
            .str("archive", &o.archive)
            .opt_str("storage", o.storage.clone())
            .opt_bool("force", o.force)
            .opt_bool("unique", o.unique)
            .opt_bool("start", o.start)
            .opt_str("pool", o.pool.clone())
            .opt_int("bwlimit", o.bwlimit.map(|b| b as i64)),
        GuestKind::Lxc => {
            let r = node(&LXC_CREATE, n)
                .int("vmid", o.vmid)
                .str("ostemplate", &o.archive)
                .bool("restore", true)
                .opt_str("storage", o.storage.clone())
                .opt_bool("force", o.force)
                .opt_bool("unique", o.unique)
                .opt_bool("start", o.start)
                .opt_str("pool", o.pool.clone());
            match o.bwlimit {
                Some(b) => r.num("bwlimit", b as f64),
                None => r,
            }
        }
    }
}

#[cfg(test)]
mod notes_tests {
    use super::*;
    use crate::pve::request::ParamValue;

    /// Text goes to vzdump as meant: backslashes doubled, line feeds as
    /// `\n`, the four variables kept, any other `{{word}}` refused.
    #[test]
    fn notes_templates_carry_text_literally() {
        assert_eq!(
            notes_template("C:\\temp\nline two {{guestname}}").unwrap(),
            "C:\\\\temp\\nline two {{guestname}}"
        );
        let err = notes_template("made {{date}} on {{node}} {{ x }}").unwrap_err();
        assert!(err.starts_with("{{date}} is not a variable"), "{err}");
        assert!(notes_template("{{vmid}} {{cluster}}").is_ok());
    }

    /// Every vzdump proxdeck sends keeps the storage's other backups.
    #[test]
    fn vzdump_keeps_everything_unless_told() {
        let r = vzdump("n1", &VzdumpOptions::default());
        assert!(
            r.params
                .iter()
                .any(|(k, v)| k == "prune-backups" && v == &ParamValue::Str(KEEP_ALL.into())),
            "{:?}",
            r.params
        );
    }
}
