//! The HTTPS front of the simulator: hyper over rustls, Proxmox's envelope,
//! status codes, reason phrases and headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::Shared;
use super::admin;
use super::api::{Call, dispatch};
use super::auth;
use super::error::ApiError;
use super::validate::Params;

/// Largest request body accepted (pve-http-server ≥ 5.2.1).
const MAX_BODY: usize = 512 * 1024;

/// Accept connections until the task is dropped.
pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, peer, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn response(status: u16, reason: Option<&str>, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(r) = reason
        && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(r.to_string())
    {
        resp.extensions_mut().insert(phrase);
    }
    let h = resp.headers_mut();
    h.insert(
        "Content-Type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert("Server", HeaderValue::from_static("pve-api-daemon/3.0"));
    h.insert("Cache-Control", HeaderValue::from_static("max-age=0"));
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    resp
}

fn ok(data: Value, total: Option<usize>) -> Response<Full<Bytes>> {
    let mut body = json!({ "data": data });
    if let Some(t) = total {
        body["total"] = json!(t);
    }
    response(200, None, body.to_string().into_bytes())
}

/// Proxmox's error shape: reason phrase = first line; 401 and 595/596 have empty bodies.
fn error(e: &ApiError) -> Response<Full<Bytes>> {
    let body = match e.status {
        401 | 595 | 596 => Vec::new(),
        _ => {
            let mut b = json!({"data": null, "message": format!("{}\n", e.message)});
            if !e.errors.is_empty() {
                b["errors"] = json!(e.errors);
            }
            b.to_string().into_bytes()
        }
    };
    response(e.status, Some(&e.reason()), body)
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .to_string()
}

fn parse_params(query: Option<&str>, body: &[u8], json_body: bool) -> Params {
    let mut out = Vec::new();
    if let Some(q) = query {
        out.extend(
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.to_string(), v.to_string())),
        );
    }
    if json_body {
        if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in o {
                let text = match v {
                    Value::String(s) => s,
                    Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
                    other => other.to_string(),
                };
                out.push((k, text));
            }
        }
    } else {
        out.extend(form_urlencoded::parse(body).map(|(k, v)| (k.to_string(), v.to_string())));
    }
    Params(out)
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let authorization = header(&req, "Authorization").map(str::to_string);
    let cookie = header(&req, "Cookie").map(str::to_string);
    let csrf = header(&req, "CSRFPreventionToken").map(str::to_string);
    let json_body = header(&req, "Content-Type").is_some_and(|c| c.starts_with("application/json"));
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(&ApiError::new(413, "Request Entity Too Large")),
    };

    if let Some(what) = path.strip_prefix("/sim/") {
        if !peer.ip().is_loopback() {
            return error(&ApiError::new(
                403,
                "the simulator's control API answers loopback clients only",
            ));
        }
        let mut model = shared.lock();
        return match admin::handle(&mut model, &method, what, &body) {
            Ok(v) => ok(v, None),
            Err(e) => error(&e),
        };
    }
    let Some(api_path) = path.strip_prefix("/api2/json") else {
        return response(404, Some("Not Found"), b"404: Not Found".to_vec());
    };
    if method == "HEAD" {
        return error(&ApiError::new(501, "method 'HEAD' not available"));
    }
    let latency = shared.lock().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let params = parse_params(query.as_deref(), &body, json_body);
    let segs: Vec<String> = api_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let seg_refs: Vec<&str> = segs.iter().map(String::as_str).collect();

    let mut model = shared.lock();
    model.record_request(&method, api_path);
    if seg_refs == ["access", "ticket"] && method == "POST" {
        let token = authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("PVEAPIToken"));
        return match auth::ticket(&mut model, &params, token) {
            Ok(v) => ok(v, None),
            Err(e) => error(&e),
        };
    }
    let who = match auth::authenticate(
        &mut model,
        &method,
        authorization.as_deref(),
        cookie.as_deref(),
        csrf.as_deref(),
    ) {
        Ok(w) => w,
        Err(e) => return error(&e),
    };
    if let ["nodes", node, ..] = seg_refs.as_slice()
        && model.nodes.get(*node).is_some_and(|n| !n.online)
    {
        return error(&ApiError::no_route());
    }
    if let Some(e) = model.faults.take_http(&method, api_path) {
        return error(&e);
    }
    let call = Call {
        shared: &shared,
        method: &method,
        path: api_path,
        params,
        user: who.user,
        privs: who.privs,
    };
    match dispatch(&call, &mut model, &seg_refs) {
        Ok(reply) => ok(reply.data, reply.total),
        Err(e) => error(&e),
    }
}
