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
use proxdeck::sim::{self, Scenario, SimHandle, SimOptions};

/// The server behind a target.
pub enum Backend {
    Fakepve(FakePve),
    /// proxdeck's simulator, in this process; faults through its /sim/ control API.
    Sim {
        handle: Box<SimHandle>,
        admin: reqwest::Client,
    },
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

    /// proxdeck's simulator with the seed scenario (tasks finish at once).
    pub async fn sim() -> Target {
        Target::sim_with(Scenario::seed(), 0.0).await
    }

    pub async fn sim_with(scenario: Scenario, time_scale: f64) -> Target {
        let mut options = SimOptions::new(scenario);
        options.time_scale = time_scale;
        options.token_id = fakepve::TOKEN_ID.into();
        options.token_secret = Some(fakepve::TOKEN_SECRET.into());
        options.password = Some(fakepve::PASSWORD.into());
        let handle = sim::start(options).await.expect("the simulator starts");
        let certfile =
            std::env::temp_dir().join(format!("proxdeck-sim-{}.pem", handle.addr.port()));
        std::fs::write(&certfile, &handle.cert_pem).unwrap();
        let tls =
            proxdeck::pve::tls::client_config(&TlsConfig::Fingerprint(handle.fingerprint)).unwrap();
        let admin = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.config)
            .build()
            .unwrap();
        Target {
            url: handle.url.clone(),
            fingerprint: handle.fingerprint.to_string(),
            certfile,
            backend: Backend::Sim {
                handle: Box::new(handle),
                admin,
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Fakepve(_) => "fakepve",
            Backend::Sim { .. } => "sim",
        }
    }

    /// The simulator handle (sim targets only).
    pub fn sim_handle(&self) -> Option<&SimHandle> {
        match &self.backend {
            Backend::Sim { handle, .. } => Some(handle),
            _ => None,
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

    /// POST to the simulator's admin endpoint `/sim/{what}` (faults, locks, ...);
    /// it must succeed. Simulator targets only.
    pub async fn sim_post(&self, what: &str, body: serde_json::Value) -> serde_json::Value {
        let Backend::Sim { handle, admin } = &self.backend else {
            panic!("sim admin {what}: not a simulator target");
        };
        let resp = admin
            .post(format!("{}/sim/{what}", handle.url))
            .json(&body)
            .send()
            .await
            .expect("sim admin call");
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.expect("sim admin answers JSON");
        assert!(status.is_success(), "sim admin {what} failed: {v}");
        v["data"].clone()
    }

    async fn control(&mut self, cmd: serde_json::Value) -> serde_json::Value {
        match &mut self.backend {
            Backend::Fakepve(f) => f.control(cmd),
            Backend::Sim { handle, admin } => {
                let (method, what, body) = sim_admin(&cmd);
                let url = format!("{}/sim/{what}", handle.url);
                let req = if method == "GET" {
                    admin.get(url)
                } else {
                    admin.post(url).json(&body)
                };
                let resp = req.send().await.expect("sim admin call");
                let status = resp.status();
                let v: serde_json::Value = resp.json().await.expect("sim admin answers JSON");
                assert!(status.is_success(), "sim admin {what} failed: {v}");
                v["data"].clone()
            }
        }
    }

    /// Tasks take `value` times their real duration from now on (0: at once).
    pub async fn set_time_scale(&mut self, value: f64) {
        self.control(json!({"op": "time_scale", "value": value}))
            .await;
    }

    /// Requests for `node` answer 595 while offline.
    pub async fn set_offline(&mut self, node: &str, offline: bool) {
        self.control(json!({"op": "offline", "node": node, "offline": offline}))
            .await;
    }

    /// The next `times` requests `method path` answer `status message`.
    pub async fn fail(&mut self, method: &str, path: &str, status: u16, message: &str, times: u32) {
        self.control(
            json!({"op": "fail", "method": method, "path": path, "status": status,
                            "message": message, "times": times}),
        )
        .await;
    }

    /// Forget every login ticket (as when they expire).
    pub async fn revoke_tickets(&mut self) {
        self.control(json!({"op": "revoke_tickets"})).await;
    }

    /// Register a token that holds only `privs` on `/`.
    pub async fn add_limited_token(&mut self, id: &str, secret: &str, privs: &[&str]) {
        self.control(json!({"op": "token", "id": id, "secret": secret}))
            .await;
        self.control(json!({"op": "grant", "user": id, "path": "/", "privs": privs}))
            .await;
    }

    /// Another holder keeps guest `vmid`'s config lock for `secs` seconds (None: until released).
    pub async fn hold_lock(&mut self, vmid: u32, secs: Option<f64>) {
        self.control(json!({"op": "hold_lock", "vmid": vmid, "secs": secs}))
            .await;
    }

    /// Leave the guest's config locked (`lock: backup`), as an unfinished task does.
    pub async fn set_guest_lock(&mut self, vmid: u32, lock: &str) {
        self.control(json!({"op": "set_lock", "vmid": vmid, "lock": lock}))
            .await;
    }

    pub async fn clear_guest_lock(&mut self, vmid: u32) {
        self.control(json!({"op": "unlock", "vmid": vmid})).await;
    }

    pub async fn release_lock(&mut self, vmid: u32) {
        self.control(json!({"op": "release_lock", "vmid": vmid}))
            .await;
    }

    /// How many requests `method path` the server has seen.
    pub async fn count_requests(&mut self, method: &str, path: &str) -> usize {
        let answer = self.control(json!({"op": "requests"})).await;
        let list = answer.get("requests").cloned().unwrap_or(answer);
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r[0] == method && r[1].as_str().is_some_and(|p| p.ends_with(path)))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// The fakepve control command as a call to the simulator's /sim/ API.
fn sim_admin(cmd: &serde_json::Value) -> (&'static str, &'static str, serde_json::Value) {
    let c = cmd.clone();
    match c["op"].as_str().unwrap_or("") {
        "offline" => (
            "POST",
            "node",
            json!({"node": c["node"], "online": !c["offline"].as_bool().unwrap_or(true)}),
        ),
        "fail" => (
            "POST",
            "fail",
            json!({"method": c["method"], "path": c["path"], "status": c["status"],
                                          "message": c["message"], "times": c["times"]}),
        ),
        "revoke_tickets" => ("POST", "tickets", json!({"revoke": true})),
        "token" => (
            "POST",
            "token",
            json!({"id": c["id"], "secret": c["secret"], "privs": []}),
        ),
        "grant" => ("POST", "token-grant", c),
        "hold_lock" => (
            "POST",
            "lock",
            json!({"vmid": c["vmid"], "secs": c["secs"]}),
        ),
        "set_lock" => (
            "POST",
            "lock",
            json!({"vmid": c["vmid"], "lock": c["lock"]}),
        ),
        "unlock" | "release_lock" => ("POST", "unlock", json!({"vmid": c["vmid"]})),
        "requests" => ("GET", "requests", json!(null)),
        "time_scale" => ("POST", "time-scale", json!({"value": c["value"]})),
        other => panic!("no simulator equivalent for {other}"),
    }
}
