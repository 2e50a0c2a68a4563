//! `proxdeck.yml`: the clusters proxdeck talks to, how it authenticates, how it
//! verifies TLS, and how it reaches nodes over SSH.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use super::reader::{Issues, Located, MapView};
use super::yaml::Node;
use crate::fingerprint::Fingerprint;
use crate::secret::Secret;

/// One Proxmox VE cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub name: String,
    /// API endpoints tried in order (`https://host:8006`).
    pub endpoints: Vec<Url>,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub ssh: Option<SshConfig>,
    /// Reject every mutation for this cluster.
    pub read_only: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// How proxdeck logs in.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// `PVEAPIToken=USER@REALM!TOKENID=SECRET`: stateless, no CSRF.
    Token {
        token_id: String,
        secret: SecretSource,
    },
    /// Ticket login as a user (renewed before its 2-hour expiry).
    Password {
        user: String,
        password: SecretSource,
    },
}

/// Where a secret comes from. Inline secrets are for tests and earn a warning.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
    Inline(Secret),
}

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("cannot read secret file {}: {}", .0.display(), .1)]
    File(PathBuf, std::io::Error),
    #[error("secret file {} is readable by others (mode {:o}); run: chmod 600 {}", .0.display(), .1, .0.display())]
    FileMode(PathBuf, u32),
    #[error("secret file {} is empty", .0.display())]
    Empty(PathBuf),
}

impl SecretSource {
    /// Read the secret now (environment, or a file that only its owner may read).
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::Env(var) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| SecretError::EnvMissing(var.clone())),
            SecretSource::File(path) => {
                check_secret_file_mode(path)?;
                let text =
                    super::read_limited(path).map_err(|e| SecretError::File(path.clone(), e))?;
                let value = text.trim_end_matches(['\n', '\r']).to_string();
                if value.is_empty() {
                    return Err(SecretError::Empty(path.clone()));
                }
                Ok(Secret::new(value))
            }
        }
    }
}

/// A secret file must not be readable or writable by group or others.
pub fn check_secret_file_mode(path: &Path) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| SecretError::File(path.to_path_buf(), e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::FileMode(path.to_path_buf(), mode));
    }
    Ok(())
}

/// How the server's certificate is verified.
#[derive(Debug, Clone)]
pub enum TlsConfig {
    /// The system's trusted roots.
    System,
    /// A CA certificate file (PEM), e.g. the cluster's `pve-root-ca.pem`.
    CaFile(PathBuf),
    /// Accept exactly the certificate with this SHA-256 fingerprint.
    Fingerprint(Fingerprint),
    /// No verification at all. Must be asked for; logged as a warning.
    Insecure,
}

/// SSH access to nodes for host-level work.
#[derive(Debug, Clone)]
pub struct SshConfig {
    pub user: String,
    pub key_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    /// Per node (Proxmox name): where to connect.
    pub nodes: BTreeMap<String, SshNode>,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshNode {
    pub host: String,
    pub port: u16,
}

const CLUSTER_KEYS: &[&str] = &[
    "name",
    "endpoints",
    "auth",
    "tls",
    "ssh",
    "read_only",
    "timeout_secs",
];
const AUTH_KEYS: &[&str] = &[
    "token_id",
    "token_secret_env",
    "token_secret_file",
    "token_secret",
    "user",
    "password_env",
    "password_file",
    "password",
];
const TLS_KEYS: &[&str] = &["fingerprint", "ca_file", "insecure"];
const SSH_KEYS: &[&str] = &[
    "user",
    "key_file",
    "known_hosts",
    "nodes",
    "connect_timeout_secs",
];

/// Read `proxdeck.yml`. Relative paths are taken from `base` (the config directory).
pub fn read(
    doc: &Node,
    base: &Path,
    issues: &mut Issues,
) -> (Vec<ClusterConfig>, super::console::ConsoleConfig) {
    let Some(map) = MapView::new(doc, "", issues) else {
        return (Vec::new(), Default::default());
    };
    let mut out: Vec<ClusterConfig> = Vec::new();
    for (field, node) in map.opt_seq(issues, "clusters").unwrap_or_default() {
        if let Some(c) = read_cluster(node, &field, base, issues) {
            if out.iter().any(|o| o.name == c.name) {
                issues.error(
                    node.pos,
                    &field,
                    format!("duplicate cluster name '{}'", c.name),
                );
                continue;
            }
            out.push(c);
        }
    }
    let console = map
        .opt_map(issues, "console")
        .map(|c| super::console::read(&c, issues))
        .unwrap_or_default();
    map.finish(issues, &["clusters", "console"]);
    (out, console)
}

fn read_cluster(
    node: &Node,
    field: &str,
    base: &Path,
    issues: &mut Issues,
) -> Option<ClusterConfig> {
    let view = MapView::new(node, field, issues)?;
    let mark = issues.list.len();
    let name = view.req_str(issues, "name");
    let endpoints = read_endpoints(&view, issues);
    let auth = match view.opt_map(issues, "auth") {
        Some(a) => read_auth(&a, base, issues),
        None => {
            issues.error(view.pos, &view.field("auth"), "required field is missing");
            None
        }
    };
    let tls = match view.opt_map(issues, "tls") {
        Some(t) => read_tls(&t, base, issues),
        None => Some(TlsConfig::System),
    };
    let ssh = view
        .opt_map(issues, "ssh")
        .and_then(|s| read_ssh(&s, base, issues));
    let read_only = view.opt_bool(issues, "read_only").is_some_and(|b| b.value);
    let timeout = view
        .opt_u64(issues, "timeout_secs")
        .map(|t| Duration::from_secs(t.value.max(1)))
        .unwrap_or(Duration::from_secs(30));
    view.finish(issues, CLUSTER_KEYS);
    if issues.errors_since(mark) {
        return None;
    }
    Some(ClusterConfig {
        name: name?.value,
        endpoints,
        auth: auth?,
        tls: tls?,
        ssh,
        read_only,
        timeout,
    })
}

fn read_endpoints(view: &MapView, issues: &mut Issues) -> Vec<Url> {
    let Some(list) = view.opt_str_list(issues, "endpoints") else {
        issues.error(
            view.pos,
            &view.field("endpoints"),
            "required field is missing",
        );
        return Vec::new();
    };
    if list.is_empty() {
        issues.error(
            view.pos,
            &view.field("endpoints"),
            "at least one endpoint is needed",
        );
    }
    let mut out = Vec::new();
    for e in list {
        match Url::parse(&e.value) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => out.push(url),
            Ok(_) => issues.error(
                e.pos,
                &e.field,
                format!(
                    "'{}' must be an https:// URL (Proxmox serves its API over TLS on 8006)",
                    e.value
                ),
            ),
            Err(err) => issues.error(
                e.pos,
                &e.field,
                format!("'{}' is not a URL: {err}", e.value),
            ),
        }
    }
    out
}

/// Secrets come from exactly one of `<base>_env`, `<base>_file` or `<base>` (inline).
fn read_secret(
    view: &MapView,
    base_key: &str,
    env_key: &str,
    file_key: &str,
    dir: &Path,
    issues: &mut Issues,
) -> Option<SecretSource> {
    let env = view.opt_str(issues, env_key);
    let file = view.opt_str(issues, file_key);
    let inline = view.opt_str(issues, base_key);
    let given = [env.is_some(), file.is_some(), inline.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        issues.error(
            view.pos,
            &view.path,
            format!("give exactly one of {env_key}, {file_key} or {base_key}"),
        );
        return None;
    }
    if let Some(env) = env {
        return Some(SecretSource::Env(env.value));
    }
    if let Some(file) = file {
        let path = resolve_path(dir, &file.value);
        if let Err(e) = check_secret_file_mode(&path) {
            issues.error(file.pos, &file.field, e.to_string());
            return None;
        }
        return Some(SecretSource::File(path));
    }
    let inline = inline?;
    issues.warning(
        inline.pos,
        &inline.field,
        format!("secret written inline in the file; prefer {env_key} or {file_key}"),
    );
    Some(SecretSource::Inline(Secret::new(inline.value)))
}

fn read_auth(view: &MapView, dir: &Path, issues: &mut Issues) -> Option<AuthConfig> {
    let token_id = view.opt_str(issues, "token_id");
    let user = view.opt_str(issues, "user");
    let out = match (token_id, user) {
        (Some(id), None) => {
            if !valid_token_id(&id.value) {
                issues.error(
                    id.pos,
                    &id.field,
                    format!("'{}' is not a token id like root@pam!proxdeck", id.value),
                );
            }
            let secret = read_secret(
                view,
                "token_secret",
                "token_secret_env",
                "token_secret_file",
                dir,
                issues,
            );
            secret.map(|secret| AuthConfig::Token {
                token_id: id.value,
                secret,
            })
        }
        (None, Some(user)) => {
            if !user.value.contains('@') {
                issues.error(
                    user.pos,
                    &user.field,
                    format!("'{}' needs a realm, like root@pam", user.value),
                );
            }
            let password = read_secret(
                view,
                "password",
                "password_env",
                "password_file",
                dir,
                issues,
            );
            password.map(|password| AuthConfig::Password {
                user: user.value,
                password,
            })
        }
        _ => {
            issues.error(
                view.pos,
                &view.path,
                "give either token_id (API token) or user (password login), not both or neither",
            );
            // The other keys are known; the one error above says what is wrong.
            AUTH_KEYS.iter().for_each(|k| {
                view.get(k);
            });
            None
        }
    };
    view.finish(issues, AUTH_KEYS);
    out
}

/// `user@realm!tokenname`.
fn valid_token_id(id: &str) -> bool {
    let Some((user, token)) = id.split_once('!') else {
        return false;
    };
    let Some((name, realm)) = user.split_once('@') else {
        return false;
    };
    !name.is_empty() && !realm.is_empty() && !token.is_empty()
}

fn read_tls(view: &MapView, dir: &Path, issues: &mut Issues) -> Option<TlsConfig> {
    let fingerprint = view.opt_str(issues, "fingerprint");
    let ca_file = view.opt_str(issues, "ca_file");
    let insecure = view.opt_bool(issues, "insecure").filter(|b| b.value);
    view.finish(issues, TLS_KEYS);
    let given = [fingerprint.is_some(), ca_file.is_some(), insecure.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given > 1 {
        issues.error(
            view.pos,
            &view.path,
            "give at most one of fingerprint, ca_file or insecure: true",
        );
        return None;
    }
    if let Some(fp) = fingerprint {
        return match fp.value.parse::<Fingerprint>() {
            Ok(f) => Some(TlsConfig::Fingerprint(f)),
            Err(e) => {
                issues.error(fp.pos, &fp.field, e.to_string());
                None
            }
        };
    }
    if let Some(ca) = ca_file {
        let path = resolve_path(dir, &ca.value);
        if !path.is_file() {
            issues.error(
                ca.pos,
                &ca.field,
                format!("CA file {} does not exist", path.display()),
            );
            return None;
        }
        return Some(TlsConfig::CaFile(path));
    }
    if let Some(i) = insecure {
        issues.warning(
            i.pos,
            &i.field,
            "TLS verification is off: anyone on the path can read the API token",
        );
        return Some(TlsConfig::Insecure);
    }
    Some(TlsConfig::System)
}

fn read_ssh(view: &MapView, dir: &Path, issues: &mut Issues) -> Option<SshConfig> {
    let mark = issues.list.len();
    let user = view
        .opt_str(issues, "user")
        .map(|u| u.value)
        .unwrap_or_else(|| "root".into());
    let key_file = view
        .opt_str(issues, "key_file")
        .map(|k| resolve_path(dir, &k.value));
    let known_hosts = view
        .opt_str(issues, "known_hosts")
        .map(|k| resolve_path(dir, &k.value));
    let connect_timeout = view
        .opt_u64(issues, "connect_timeout_secs")
        .map(|t| Duration::from_secs(t.value.max(1)))
        .unwrap_or(Duration::from_secs(10));
    let mut nodes = BTreeMap::new();
    if let Some(map) = view.opt_map(issues, "nodes") {
        for (key, node) in map.entries() {
            let field = format!("{}.{}", map.path, key.name);
            let Some(n) = MapView::new(node, &field, issues) else {
                continue;
            };
            let host = n.req_str(issues, "host");
            let port = n.opt_u64(issues, "port");
            n.finish(issues, &["host", "port"]);
            let port = match port {
                Some(Located { value, pos, field }) => match u16::try_from(value) {
                    Ok(p) if p > 0 => p,
                    _ => {
                        issues.error(pos, &field, format!("{value} is not a TCP port"));
                        continue;
                    }
                },
                None => 22,
            };
            if let Some(host) = host {
                nodes.insert(
                    key.name.clone(),
                    SshNode {
                        host: host.value,
                        port,
                    },
                );
            }
        }
    }
    view.finish(issues, SSH_KEYS);
    (!issues.errors_since(mark)).then_some(SshConfig {
        user,
        key_file,
        known_hosts,
        nodes,
        connect_timeout,
    })
}

/// `~/x` from the home directory, relative paths from the config directory.
pub fn resolve_path(base: &Path, s: &str) -> PathBuf {
    if let Some(rest) = s.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let p = PathBuf::from(s);
    if p.is_absolute() { p } else { base.join(p) }
}
