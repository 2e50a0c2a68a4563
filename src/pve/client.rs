//! The HTTP side of the client: endpoints with failover, authentication (token,
//! or ticket with CSRF and silent renewal), retries for idempotent reads, and
//! the mapping of every failure to a [`PveError`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;

use super::endpoints::{self, Method};
use super::error::PveError;
use super::request::ApiRequest;
use super::tls::{self, PinVerifier};
use crate::config::{AuthConfig, ClusterConfig, TlsConfig};
use crate::fingerprint::Fingerprint;
use crate::secret::Secret;

/// Tunables; the defaults suit a real cluster.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// How many times a GET is retried after a transient failure.
    pub get_retries: u32,
    /// First back-off delay; doubled each retry, capped at 2 s.
    pub retry_base: Duration,
    /// A ticket older than this is renewed before use (tickets live 2 hours).
    pub ticket_renew_after: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            get_retries: 3,
            retry_base: Duration::from_millis(200),
            ticket_renew_after: Duration::from_secs(3600),
        }
    }
}

/// A successful answer's body. Typed calls decode `data` straight from the
/// bytes (a 10,000-guest resource list is parsed once, not first into a
/// JSON tree and then again into structs).
#[derive(Debug, Clone)]
pub struct Envelope {
    body: hyper::body::Bytes,
}

/// The `{"data": ...}` wrapper Proxmox puts around every answer.
#[derive(serde::Deserialize)]
struct Wrapped<T> {
    data: Option<T>,
}

impl Envelope {
    /// Decode `data` into `T` (a missing or null `data` decodes as JSON null).
    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T, PveError> {
        let err = |e: serde_json::Error| PveError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        };
        let w: Wrapped<T> = serde_json::from_slice(&self.body).map_err(err)?;
        match w.data {
            Some(t) => Ok(t),
            None => serde_json::from_value(serde_json::Value::Null).map_err(err),
        }
    }

    /// The `total` Proxmox gives beside `data` on paged lists.
    pub fn total(&self) -> Option<u64> {
        #[derive(serde::Deserialize)]
        struct Total {
            total: Option<serde_json::Value>,
        }
        let t: Total = serde_json::from_slice(&self.body).ok()?;
        t.total.and_then(|v| v.as_u64())
    }

    /// `data` as JSON, for answers whose shape varies (UPIDs or null).
    pub fn data(&self) -> serde_json::Value {
        self.decode("answer").unwrap_or(serde_json::Value::Null)
    }
}

/// A client for one Proxmox VE cluster. Cheap to clone.
#[derive(Clone)]
pub struct PveClient {
    inner: Arc<Inner>,
}

struct Inner {
    cluster: String,
    http: reqwest::Client,
    endpoints: Vec<Url>,
    preferred: AtomicUsize,
    auth: Auth,
    pin: Option<Arc<PinVerifier>>,
    options: ClientOptions,
}

enum Auth {
    /// The whole `Authorization` header value.
    Token {
        token_id: String,
        header: Secret,
    },
    Ticket(TicketAuth),
}

struct TicketAuth {
    user: String,
    password: Secret,
    state: tokio::sync::Mutex<Option<Ticket>>,
}

#[derive(Clone)]
struct Ticket {
    ticket: Secret,
    csrf: Secret,
    obtained: Instant,
}

impl std::fmt::Debug for PveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.inner.auth {
            Auth::Token { token_id, .. } => format!("token {token_id}=***"),
            Auth::Ticket(t) => format!("ticket for {} (password ***)", t.user),
        };
        f.debug_struct("PveClient")
            .field("cluster", &self.inner.cluster)
            .field(
                "endpoints",
                &self
                    .inner
                    .endpoints
                    .iter()
                    .map(Url::as_str)
                    .collect::<Vec<_>>(),
            )
            .field("auth", &auth)
            .finish()
    }
}

/// What one attempt at one endpoint came to.
enum Attempt {
    Done(Envelope),
    /// Try the next endpoint (could not connect, or the request could not be routed).
    Failover(PveError),
    Fail(PveError),
}

impl PveClient {
    /// A client for a configured cluster; reads its secret now.
    pub fn new(cluster: &ClusterConfig) -> Result<PveClient, PveError> {
        let options = ClientOptions {
            timeout: cluster.timeout,
            ..ClientOptions::default()
        };
        PveClient::with_options(cluster, options)
    }

    pub fn with_options(
        cluster: &ClusterConfig,
        options: ClientOptions,
    ) -> Result<PveClient, PveError> {
        if cluster.endpoints.is_empty() {
            return Err(PveError::Setup {
                message: format!("cluster {} has no endpoints", cluster.name),
            });
        }
        let setup_err = |e: crate::config::clusters::SecretError| PveError::Setup {
            message: format!("cluster {}: {e}", cluster.name),
        };
        let auth = match &cluster.auth {
            AuthConfig::Token { token_id, secret } => {
                let secret = secret.resolve().map_err(setup_err)?;
                Auth::Token {
                    token_id: token_id.clone(),
                    header: Secret::new(format!("PVEAPIToken={token_id}={}", secret.expose())),
                }
            }
            AuthConfig::Password { user, password } => Auth::Ticket(TicketAuth {
                user: user.clone(),
                password: password.resolve().map_err(setup_err)?,
                state: tokio::sync::Mutex::new(None),
            }),
        };
        let tls = tls::client_config(&cluster.tls)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.config)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| PveError::Setup {
                message: format!("HTTP client: {e}"),
            })?;
        let endpoints = cluster
            .endpoints
            .iter()
            .map(|u| {
                let mut base = u.clone();
                base.set_path("/api2/json");
                base.set_query(None);
                base
            })
            .collect();
        if matches!(cluster.tls, TlsConfig::Insecure) {
            tracing::warn!(cluster = %cluster.name, "TLS verification disabled by configuration");
        }
        Ok(PveClient {
            inner: Arc::new(Inner {
                cluster: cluster.name.clone(),
                http,
                endpoints,
                preferred: AtomicUsize::new(0),
                auth,
                pin: tls.pin,
                options,
            }),
        })
    }

    /// The cluster's name in the configuration.
    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    /// The endpoint that answered last (or will be tried first).
    pub fn current_endpoint(&self) -> &Url {
        &self.inner.endpoints
            [self.inner.preferred.load(Ordering::Relaxed) % self.inner.endpoints.len()]
    }

    /// The user (or token's user) requests run as.
    pub fn user(&self) -> String {
        match &self.inner.auth {
            Auth::Token { token_id, .. } => token_id.clone(),
            Auth::Ticket(t) => t.user.clone(),
        }
    }

    /// Send a request and decode its `data` as `T`.
    pub async fn call<T: DeserializeOwned>(&self, req: &ApiRequest) -> Result<T, PveError> {
        let env = self.execute(req).await?;
        env.decode(req.endpoint.what())
    }

    /// Send a request: failover across endpoints, ticket renewal, and (GET only) retries.
    pub async fn execute(&self, req: &ApiRequest) -> Result<Envelope, PveError> {
        let mut attempt = 0;
        loop {
            match self.execute_once(req).await {
                Ok(env) => return Ok(env),
                Err(e)
                    if req.method() == Method::Get
                        && attempt < self.inner.options.get_retries
                        && retryable(&e) =>
                {
                    let delay = self
                        .inner
                        .options
                        .retry_base
                        .saturating_mul(1 << attempt)
                        .min(Duration::from_secs(2));
                    tracing::debug!(path = %req.path(), error = %e, ?delay, "retrying GET");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn execute_once(&self, req: &ApiRequest) -> Result<Envelope, PveError> {
        let n = self.inner.endpoints.len();
        let start = self.inner.preferred.load(Ordering::Relaxed) % n;
        let mut failures: Vec<PveError> = Vec::new();
        for i in 0..n {
            let idx = (start + i) % n;
            match self.attempt(idx, req).await {
                Attempt::Done(env) => {
                    if idx != start {
                        tracing::info!(endpoint = %self.inner.endpoints[idx], "switched to another endpoint");
                    }
                    self.inner.preferred.store(idx, Ordering::Relaxed);
                    return Ok(env);
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Failover(e) => failures.push(e),
            }
        }
        Err(self.best_failure(failures))
    }

    /// Of several endpoint failures, the one that tells the admin most.
    fn best_failure(&self, failures: Vec<PveError>) -> PveError {
        if let Some(tls) = failures.iter().find(|e| matches!(e, PveError::Tls { .. })) {
            return tls.clone();
        }
        if let Some(unreachable) = failures
            .iter()
            .find(|e| matches!(e, PveError::Unreachable { .. }))
        {
            return unreachable.clone();
        }
        let message = failures
            .last()
            .map(|e| match e {
                PveError::Connect { message, .. } => message.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "no endpoint".into());
        PveError::Connect {
            endpoints: self.inner.endpoints.iter().map(host_of).collect(),
            message,
        }
    }

    /// One try at one endpoint, with one re-login on 401 for ticket auth.
    async fn attempt(&self, idx: usize, req: &ApiRequest) -> Attempt {
        let mut relogged = false;
        loop {
            let headers = match self.auth_headers(idx, req.method(), false).await {
                Ok(h) => h,
                Err(e) => return classify_transport(e, req),
            };
            match self.send(idx, req, headers).await {
                Ok(env) => return Attempt::Done(env),
                Err(PveError::Unauthorized { .. })
                    if !relogged && matches!(self.inner.auth, Auth::Ticket(_)) =>
                {
                    relogged = true;
                    if let Err(e) = self.auth_headers(idx, req.method(), true).await {
                        return classify_transport(e, req);
                    }
                }
                Err(e) => return classify_transport(e, req),
            }
        }
    }

    /// Headers for a request; for tickets, log in or renew first when needed.
    async fn auth_headers(
        &self,
        idx: usize,
        method: Method,
        force_login: bool,
    ) -> Result<HeaderMap, PveError> {
        let mut h = HeaderMap::new();
        match &self.inner.auth {
            Auth::Token { header, .. } => {
                h.insert("Authorization", sensitive(header.expose())?);
            }
            Auth::Ticket(t) => {
                let mut state = t.state.lock().await;
                let renew_after = self.inner.options.ticket_renew_after;
                let ticket = match state.as_ref() {
                    Some(tk) if !force_login && tk.obtained.elapsed() < renew_after => tk.clone(),
                    Some(tk) if !force_login => {
                        // Renew with the ticket itself; fall back to the password.
                        match self.login(idx, &t.user, &tk.ticket).await {
                            Ok(new) => new,
                            Err(_) => self.login(idx, &t.user, &t.password).await?,
                        }
                    }
                    _ => self.login(idx, &t.user, &t.password).await?,
                };
                *state = Some(ticket.clone());
                h.insert(
                    "Cookie",
                    sensitive(&format!("PVEAuthCookie={}", ticket.ticket.expose()))?,
                );
                if method != Method::Get {
                    h.insert("CSRFPreventionToken", sensitive(ticket.csrf.expose())?);
                }
            }
        }
        Ok(h)
    }

    async fn login(&self, idx: usize, user: &str, password: &Secret) -> Result<Ticket, PveError> {
        tracing::debug!(user, "requesting a ticket");
        let req = ApiRequest::new(&endpoints::TICKET)
            .str("username", user)
            .str("password", password.expose());
        let env = self.send(idx, &req, HeaderMap::new()).await?;
        let data = env.data();
        let get = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        match (get("ticket"), get("CSRFPreventionToken")) {
            (Some(ticket), Some(csrf)) => Ok(Ticket {
                ticket: Secret::new(ticket),
                csrf: Secret::new(csrf),
                obtained: Instant::now(),
            }),
            _ => Err(PveError::Unauthorized {
                message: "the login answer carried no ticket (is two-factor authentication on? use an API token)".into(),
            }),
        }
    }

    /// Send to one endpoint and turn the answer into an envelope or an error.
    async fn send(
        &self,
        idx: usize,
        req: &ApiRequest,
        headers: HeaderMap,
    ) -> Result<Envelope, PveError> {
        let mut url = self.inner.endpoints[idx].clone();
        {
            let mut segs = url.path_segments_mut().map_err(|_| PveError::Setup {
                message: "endpoint URL cannot take a path".into(),
            })?;
            for s in req.segments() {
                segs.push(&s);
            }
        }
        let params = req.wire_params();
        let http = &self.inner.http;
        let builder = match req.method() {
            Method::Get => http.get(url).query(&params),
            Method::Delete => http.delete(url).query(&params),
            Method::Post => http.post(url).form(&params),
            Method::Put => http.put(url).form(&params),
        };
        tracing::debug!(
            method = %req.method(),
            path = %req.path(),
            params = ?req.params.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            "api call"
        );
        let resp = builder
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.transport_error(idx, req, e))?;
        let status = resp.status().as_u16();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).to_string());
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(idx, req, e))?;
        if !(200..300).contains(&status) {
            let err = PveError::from_response(status, reason.as_deref(), &body);
            tracing::debug!(path = %req.path(), status, error = %err, "api error");
            return Err(err);
        }
        // Proxmox always answers a JSON object with `data`; anything else is
        // not its API (an HTML error page from a proxy, say).
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(PveError::Decode {
                what: req.endpoint.what().to_string(),
                message: "not a JSON object with data".into(),
            });
        }
        Ok(Envelope { body })
    }

    fn transport_error(&self, idx: usize, req: &ApiRequest, e: reqwest::Error) -> PveError {
        let host = host_of(&self.inner.endpoints[idx]);
        if let Some(pin) = &self.inner.pin
            && let Some(presented) = pin.last_mismatch()
            && chain_mentions_tls(&e)
        {
            return PveError::Tls {
                message: format!("{host}: certificate does not match the pinned fingerprint"),
                expected: Some(pin.expected),
                presented: Some(presented),
            };
        }
        if let Some(tls) = find_rustls_error(&e) {
            return PveError::Tls {
                message: format!("{host}: {}", describe_tls(tls)),
                expected: None,
                presented: None,
            };
        }
        if e.is_timeout() && !e.is_connect() {
            return PveError::Timeout {
                what: format!("{} {}", req.method(), req.path()),
                after: self.inner.options.timeout,
            };
        }
        PveError::Connect {
            endpoints: vec![host],
            message: root_cause(&e),
        }
    }

    /// Fingerprint the client is pinned to, if any.
    pub fn pinned(&self) -> Option<Fingerprint> {
        self.inner.pin.as_ref().map(|p| p.expected)
    }
}

/// Decide between trying the next endpoint and giving up.
fn classify_transport(e: PveError, req: &ApiRequest) -> Attempt {
    match &e {
        PveError::Connect { .. } | PveError::Tls { .. } => Attempt::Failover(e),
        // 595: the proxying node never reached the target; nothing ran.
        PveError::Unreachable { status: 595, .. } => Attempt::Failover(e),
        // 596 may come after the request was sent: only reads move on.
        PveError::Unreachable { .. } if req.method() == Method::Get => Attempt::Failover(e),
        _ => Attempt::Fail(e),
    }
}

/// Transient failures a GET may be retried after.
fn retryable(e: &PveError) -> bool {
    match e {
        PveError::Connect { .. } | PveError::Timeout { .. } | PveError::Unreachable { .. } => true,
        other => other.status().is_some_and(|s| s >= 500 && s != 501),
    }
}

fn sensitive(v: &str) -> Result<HeaderValue, PveError> {
    let mut h = HeaderValue::from_str(v).map_err(|_| PveError::Setup {
        message: "a credential contains characters not allowed in an HTTP header".into(),
    })?;
    h.set_sensitive(true);
    Ok(h)
}

fn host_of(u: &Url) -> String {
    match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => u.to_string(),
    }
}

fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    // TLS errors travel inside io::Errors (sometimes nested), whose `source()`
    // skips the wrapped error itself: look inside explicitly.
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
        && let Some(found) = find_rustls_error(inner)
    {
        return Some(found);
    }
    e.source().and_then(find_rustls_error)
}

fn chain_mentions_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    find_rustls_error(e).is_some() || root_cause(e).contains("fingerprint mismatch")
}

fn describe_tls(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => format!(
            "the server's certificate is not trusted ({c:?}); set tls.fingerprint (as `pvenode cert info` shows it) or tls.ca_file in proxdeck.yml"
        ),
        other => other.to_string(),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
