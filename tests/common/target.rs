//! A Proxmox API to test against: fakepve (the independent reference) or
//! proxdeck's own simulator. The contract suite runs every case on both, with
//! faults injected through the same calls.

use std::time::Duration;

use proxdeck::config::{AuthConfig, ClusterConfig, SecretSource, TlsConfig};
use proxdeck::pve::{ClientOptions, PveClient};
use proxdeck::secret::Secret;
use reqwest::Url;
use serde_json::json;

use super::fakepve::{self, FakePve};

/// The server behind a target.
pub enum Backend {
    Fakepve(FakePve),
}

pub struct Target {
    pub backend: Backend,
    pub url: String,
    pub fingerprint: String,
    pub certfile: std::path::PathBuf,
}

impl Target {
    /// fakepve with the seed cluster.
    pub fn fakepve() -> Target {
        let f = FakePve::seed();
        Target {
            url: f.url.clone(),
            fingerprint: f.fingerprint.clone(),
            certfile: f.certfile.clone(),
            backend: Backend::Fakepve(f),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Fakepve(_) => "fakepve",
        }
    }

    pub fn is_fakepve(&self) -> bool {
        matches!(self.backend, Backend::Fakepve(_))
    }

    /// A cluster config for this target with the given auth and TLS.
    pub fn cluster(&self, auth: AuthConfig, tls: TlsConfig) -> ClusterConfig {
        ClusterConfig {
            name: format!("{}-test", self.name()),
            endpoints: vec![Url::parse(&self.url).unwrap()],
            auth,
            tls,
            ssh: None,
            read_only: false,
            timeout: Duration::from_secs(20),
        }
    }

    pub fn token_auth(&self) -> AuthConfig {
        AuthConfig::Token {
            token_id: fakepve::TOKEN_ID.into(),
            secret: SecretSource::Inline(Secret::new(fakepve::TOKEN_SECRET)),
        }
    }

    pub fn password_auth(&self) -> AuthConfig {
        AuthConfig::Password {
            user: "root@pam".into(),
            password: SecretSource::Inline(Secret::new(fakepve::PASSWORD)),
        }
    }

    pub fn pin(&self) -> TlsConfig {
        TlsConfig::Fingerprint(self.fingerprint.parse().unwrap())
    }

    /// Options that keep failing tests fast.
    pub fn quick_options() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(20),
            get_retries: 1,
            retry_base: Duration::from_millis(20),
            ticket_renew_after: Duration::from_secs(3600),
        }
    }

    /// A root token client with the certificate pinned.
    pub fn client(&self) -> PveClient {
        PveClient::with_options(
            &self.cluster(self.token_auth(), self.pin()),
            Self::quick_options(),
        )
        .unwrap()
    }

    fn control(&mut self, cmd: serde_json::Value) -> serde_json::Value {
        match &mut self.backend {
            Backend::Fakepve(f) => f.control(cmd),
        }
    }

    /// Requests for `node` answer 595 while offline.
    pub fn set_offline(&mut self, node: &str, offline: bool) {
        self.control(json!({"op": "offline", "node": node, "offline": offline}));
    }

    /// The next `times` requests `method path` answer `status message`.
    pub fn fail(&mut self, method: &str, path: &str, status: u16, message: &str, times: u32) {
        self.control(
            json!({"op": "fail", "method": method, "path": path, "status": status,
                            "message": message, "times": times}),
        );
    }

    /// Forget every login ticket (as when they expire).
    pub fn revoke_tickets(&mut self) {
        self.control(json!({"op": "revoke_tickets"}));
    }

    /// Register a token that holds only `privs` on `/`.
    pub fn add_limited_token(&mut self, id: &str, secret: &str, privs: &[&str]) {
        self.control(json!({"op": "token", "id": id, "secret": secret}));
        self.control(json!({"op": "grant", "user": id, "path": "/", "privs": privs}));
    }

    /// Another holder keeps guest `vmid`'s config lock for `secs` seconds (None: until released).
    pub fn hold_lock(&mut self, vmid: u32, secs: Option<f64>) {
        self.control(json!({"op": "hold_lock", "vmid": vmid, "secs": secs}));
    }

    /// Leave the guest's config locked (`lock: backup`), as an unfinished task does.
    pub fn set_guest_lock(&mut self, vmid: u32, lock: &str) {
        self.control(json!({"op": "set_lock", "vmid": vmid, "lock": lock}));
    }

    pub fn clear_guest_lock(&mut self, vmid: u32) {
        self.control(json!({"op": "unlock", "vmid": vmid}));
    }

    pub fn release_lock(&mut self, vmid: u32) {
        self.control(json!({"op": "release_lock", "vmid": vmid}));
    }

    /// How many requests `method path` the server has seen.
    pub fn count_requests(&mut self, method: &str, path: &str) -> usize {
        let answer = self.control(json!({"op": "requests"}));
        answer["requests"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r[0] == method && r[1].as_str().is_some_and(|p| p.ends_with(path)))
                    .count()
            })
            .unwrap_or(0)
    }
}
