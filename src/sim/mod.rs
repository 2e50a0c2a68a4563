//! A simulated Proxmox VE cluster served over HTTPS on loopback, for the demo
//! and for tests: the API paths proxdeck uses, with Proxmox's envelope, errors,
//! auth, tasks, locks and timing, and faults on demand.

mod admin;
mod api;
mod auth;
mod cert;
pub mod error;
pub mod faults;
pub mod host;
mod metrics;
pub mod model;
pub mod rng;
pub mod scenario;
mod server;
pub mod tasks;
pub mod validate;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::fingerprint::Fingerprint;
use model::{Model, TokenDef};
pub use scenario::Scenario;

/// The state every connection and task shares.
pub struct Shared {
    model: Mutex<Model>,
    /// Woken when a task is asked to stop, so a sleeping task notices at once.
    pub(crate) stop_requested: tokio::sync::Notify,
}

impl Shared {
    /// The model; a panic elsewhere never leaves it unusable.
    pub fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: SocketAddr,
    /// Bind a non-loopback address (refused unless set).
    pub allow_remote: bool,
    pub scenario: Scenario,
    /// Real seconds per simulated second; 0 finishes tasks at once.
    pub time_scale: f64,
    pub seed: u64,
    pub token_id: String,
    /// None: a random secret.
    pub token_secret: Option<String>,
    /// None: a random password for root@pam.
    pub password: Option<String>,
}

impl SimOptions {
    pub fn new(scenario: Scenario) -> SimOptions {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_remote: false,
            scenario,
            time_scale: 0.0,
            seed: 1,
            token_id: "root@pam!proxdeck".into(),
            token_secret: None,
            password: None,
        }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    pub addr: SocketAddr,
    pub url: String,
    pub fingerprint: Fingerprint,
    /// The certificate (PEM), usable as a CA file.
    pub cert_pem: String,
    pub token_id: String,
    pub token_secret: String,
    pub password: String,
    pub scenario: Scenario,
    pub shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Random text from the operating system (tokens, passwords).
fn random_hex(bytes: usize) -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| "no randomness available".to_string())?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A secret in Proxmox's token form (a UUID).
fn random_uuid() -> Result<String, String> {
    let h = random_hex(16)?;
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Start a simulator on the current tokio runtime.
pub async fn start(options: SimOptions) -> Result<SimHandle, String> {
    if !options.listen.ip().is_loopback() && !options.allow_remote {
        return Err(format!(
            "refusing to listen on {}: the simulator is a test tool with printed credentials; use a loopback address or --allow-remote",
            options.listen
        ));
    }
    let cert = cert::make(&options.listen.ip().to_string())?;
    let token_secret = match options.token_secret.clone() {
        Some(s) => s,
        None => random_uuid()?,
    };
    let password = match options.password.clone() {
        Some(p) => p,
        None => random_hex(12)?,
    };
    let mut model = Model::new("sim", options.seed);
    options.scenario.build(&mut model);
    model.time_scale = options.time_scale;
    model.password = password.clone();
    model.tokens.insert(
        options.token_id.clone(),
        TokenDef {
            secret: token_secret.clone(),
            privs: None,
        },
    );
    let shared = Arc::new(Shared {
        model: Mutex::new(model),
        stop_requested: tokio::sync::Notify::new(),
    });
    let tls = rustls::ServerConfig::builder_with_provider(crate::pve::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.clone()], cert.key.clone_key())
        .map_err(|e| format!("TLS setup: {e}"))?;
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(server::serve(
        listener,
        TlsAcceptor::from(Arc::new(tls)),
        shared.clone(),
    ));
    Ok(SimHandle {
        url: format!("https://{addr}"),
        addr,
        fingerprint: cert.fingerprint,
        cert_pem: cert.pem,
        token_id: options.token_id,
        token_secret,
        password,
        scenario: options.scenario,
        shared,
        server,
    })
}

impl SimHandle {
    /// API requests the simulator answered since it started.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().request_count
    }

    /// Write `proxdeck.yml` (endpoint, token in a 0600 file, fingerprint pin) and the
    /// scenario's naming and policy files into `dir`, so `--config dir` uses this simulator.
    pub fn write_config(&self, dir: &Path) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        let err = |e: std::io::Error| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(err)?;
        let token_file = dir.join("sim-token");
        let _ = std::fs::remove_file(&token_file);
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&token_file)
                .map_err(err)?;
            writeln!(f, "{}", self.token_secret).map_err(err)?;
        }
        let yml = format!(
            "# Written by `proxdeck sim --write-config`: this simulator's endpoint, token and certificate pin.\n\
             clusters:\n  - name: {name}\n    endpoints: [\"{url}\"]\n    auth:\n      token_id: \"{id}\"\n      token_secret_file: sim-token\n    tls:\n      fingerprint: \"{fp}\"\n",
            name = self.scenario.doc.cluster,
            url = self.url,
            id = self.token_id,
            fp = self.fingerprint
        );
        std::fs::write(dir.join(crate::config::CLUSTERS_FILE), yml).map_err(err)?;
        std::fs::write(dir.join("sim-ca.pem"), &self.cert_pem).map_err(err)?;
        std::fs::write(
            dir.join(crate::config::NAMING_FILE),
            self.scenario.naming_yaml(),
        )
        .map_err(err)?;
        std::fs::write(
            dir.join(crate::config::POLICIES_FILE),
            self.scenario.policies_yaml(),
        )
        .map_err(err)?;
        Ok(())
    }
}
